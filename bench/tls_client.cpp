// bench/tls's client, with OpenSSL, so that what bench/tls measures is the
// server. Every handshake is a full one: each connection has a fresh SSL and
// offers no session (tickets the server sends are counted, never used).
//   tls_client handshakes PORT TLS1.2|TLS1.3 CONNECTIONS SECONDS SEND RECEIVE
//     CONNECTIONS at once, one epoll thread: connect, handshake, send SEND
//     bytes, read RECEIVE bytes, close, again, for SECONDS and at least
//     CONNECTIONS handshakes. Prints "handshakes N", "resumed N" (0),
//     "handshakes_per_sec N", "tickets_per_handshake N", "protocol P",
//     "cipher C", "group G" (the key exchange's), "cpu_seconds S" (this
//     process's user + system time).
//   tls_client get PORT NAME SAME_AS
//     One download over TLS 1.3 in xfer's framed dialect; the bytes must equal
//     SAME_AS's. Prints "bytes N", "seconds S" (request to last byte),
//     "protocol P", "cipher C", "group G".
// Certificates are not verified: both servers measured present the same one.
// On any failure says why and exits 1.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string &reason) {
  throw std::runtime_error(reason);
}

std::string openSslErrors() {
  std::string text;
  while (unsigned long error = ::ERR_get_error()) {
    char line[256];
    ::ERR_error_string_n(error, line, sizeof line);
    text += (text.empty() ? "" : "; ") + std::string(line);
  }
  return text.empty() ? std::strerror(errno) : text;
}

int connectTo(int port, bool nonblocking) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) fail(std::string("socket: ") + std::strerror(errno));
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0 &&
      errno != EINPROGRESS)
    fail(std::string("connect: ") + std::strerror(errno));
  return fd;
}

long ticketsSeen = 0;
long resumed = 0;  // stays 0: the proof that every handshake was a full one

int countTicket(SSL *, SSL_SESSION *) {
  ++ticketsSeen;
  return 0;  // not kept: no connection resumes
}

SSL_CTX *clientContext(int version) {
  SSL_CTX *context = ::SSL_CTX_new(::TLS_client_method());
  if (context == nullptr || ::SSL_CTX_set_min_proto_version(context, version) != 1 ||
      ::SSL_CTX_set_max_proto_version(context, version) != 1)
    fail("SSL_CTX: " + openSslErrors());
  ::SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
  ::SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  ::SSL_CTX_sess_set_new_cb(context, countTicket);
  return context;
}

void printSession(SSL *ssl) {
  std::printf("protocol %s\ncipher %s\ngroup %s\n", ::SSL_get_version(ssl),
              ::SSL_CIPHER_get_name(::SSL_get_current_cipher(ssl)),
              ::OBJ_nid2sn(SSL_get_negotiated_group(ssl)));
}

double cpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval &time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// One connection of the handshake loop, from connect to close.
class Exchange {
 public:
  Exchange(SSL_CTX *context, int port, int epoll, size_t send, size_t receive)
      : context_(context), port_(port), epoll_(epoll), send_(send), receive_(receive) {}
  ~Exchange() { stop(); }
  Exchange(const Exchange &) = delete;
  Exchange &operator=(const Exchange &) = delete;

  void start() {
    fd_ = connectTo(port_, true);
    ssl_ = ::SSL_new(context_);
    if (ssl_ == nullptr || ::SSL_set_fd(ssl_, fd_) != 1) fail("SSL_new: " + openSslErrors());
    ::SSL_set_connect_state(ssl_);
    sent_ = received_ = 0;
    epoll_event event{EPOLLOUT, {.ptr = this}};
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd_, &event) != 0) fail("epoll_ctl add");
    waiting_ = EPOLLOUT;
  }

  // Goes as far as the socket lets it; true once the exchange is complete.
  bool advance() {
    ::ERR_clear_error();
    if (!::SSL_is_init_finished(ssl_)) {
      int result = ::SSL_do_handshake(ssl_);
      if (result != 1) return wait(result, "handshake");
      if (first_) {
        printSession(ssl_);
        first_ = false;
      }
    }
    static const char payload[4096] = {};
    while (sent_ < send_) {
      size_t count = 0;
      int result = ::SSL_write_ex(ssl_, payload, std::min(send_ - sent_, sizeof payload), &count);
      if (result != 1) return wait(result, "write");
      sent_ += count;
    }
    char buffer[16384];
    while (received_ < receive_) {
      size_t count = 0;
      int result = ::SSL_read_ex(ssl_, buffer, sizeof buffer, &count);
      if (result != 1) return wait(result, "read");
      received_ += count;
    }
    if (received_ != receive_) fail("more bytes than expected");
    if (::SSL_session_reused(ssl_) == 1) ++resumed;
    stop();
    return true;
  }

  void stop() {
    if (ssl_ != nullptr) ::SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);  // closing removes it from the epoll set
    ssl_ = nullptr;
    fd_ = -1;
  }

 private:
  bool wait(int result, const char *step) {
    int error = ::SSL_get_error(ssl_, result);
    uint32_t wanted;
    if (error == SSL_ERROR_WANT_READ)
      wanted = EPOLLIN;
    else if (error == SSL_ERROR_WANT_WRITE)
      wanted = EPOLLOUT;
    else if (error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && errno == 0))
      fail(std::string("the server closed after ") + std::to_string(received_) + " of " +
           std::to_string(receive_) + " bytes");
    else
      fail(std::string(step) + ": " + openSslErrors());
    if (wanted != waiting_) {
      epoll_event event{wanted, {.ptr = this}};
      if (::epoll_ctl(epoll_, EPOLL_CTL_MOD, fd_, &event) != 0) fail("epoll_ctl mod");
      waiting_ = wanted;
    }
    return false;
  }

  SSL_CTX *context_;
  int port_, epoll_;
  size_t send_, receive_, sent_ = 0, received_ = 0;
  int fd_ = -1;
  SSL *ssl_ = nullptr;
  uint32_t waiting_ = 0;
  inline static bool first_ = true;
};

int handshakes(int port, int version, int connections, double seconds, size_t send,
               size_t receive) {
  SSL_CTX *context = clientContext(version);
  int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<std::unique_ptr<Exchange>> all;
  for (int i = 0; i < connections; ++i) {
    all.push_back(std::make_unique<Exchange>(context, port, epoll, send, receive));
    all.back()->start();
  }
  double cpuBefore = cpuSeconds();
  auto start = Clock::now();
  auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  long completed = 0;
  std::vector<epoll_event> events(static_cast<size_t>(connections));
  while (Clock::now() < end || completed < connections) {
    int count = ::epoll_wait(epoll, events.data(), connections, 10000);
    if (count < 0 && errno != EINTR) fail("epoll_wait");
    if (count == 0) fail("no connection moved in 10 s");
    for (int i = 0; i < count; ++i) {
      auto *exchange = static_cast<Exchange *>(events[static_cast<size_t>(i)].data.ptr);
      if (exchange->advance()) {
        ++completed;
        exchange->start();
      }
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "handshakes %ld\nresumed %ld\nhandshakes_per_sec %.1f\ntickets_per_handshake "
      "%.2f\ncpu_seconds %.3f\n",
      completed, resumed, static_cast<double>(completed) / elapsed,
      completed > 0 ? static_cast<double>(ticketsSeen) / static_cast<double>(completed) : 0.0,
      cpuSeconds() - cpuBefore);
  all.clear();
  ::close(epoll);
  ::SSL_CTX_free(context);
  return 0;
}

void writeAll(SSL *ssl, const std::string &bytes) {
  size_t sent = 0;
  if (::SSL_write_ex(ssl, bytes.data(), bytes.size(), &sent) != 1 || sent != bytes.size())
    fail("write: " + openSslErrors());
}

std::string readExactly(SSL *ssl, size_t size) {
  std::string bytes(size, '\0');
  for (size_t got = 0; got < size;) {
    size_t count = 0;
    if (::SSL_read_ex(ssl, bytes.data() + got, size - got, &count) != 1)
      fail("read: the connection ended (" + openSslErrors() + ")");
    got += count;
  }
  return bytes;
}

// xfer's framed dialect: struct.pack('i', n) in this machine's byte order, then the JSON.
uint64_t askFor(SSL *ssl, const std::string &name) {
  std::string json = "{\"cmd\": \"get\", \"filename\": \"" + name + "\"}";
  auto length = static_cast<int32_t>(json.size());
  std::string request(sizeof length, '\0');
  std::memcpy(request.data(), &length, sizeof length);
  writeAll(ssl, request + json);
  std::memcpy(&length, readExactly(ssl, sizeof length).data(), sizeof length);
  std::string reply = readExactly(ssl, static_cast<size_t>(length));
  size_t at = reply.find("\"filesize\"");
  if (reply.find("\"error\"") != std::string::npos || at == std::string::npos)
    fail("get refused: " + reply);
  at = reply.find_first_not_of(": ", at + 10);
  uint64_t size = 0;
  if (at == std::string::npos ||
      std::from_chars(reply.data() + at, reply.data() + reply.size(), size).ec != std::errc())
    fail("no filesize in " + reply);
  return size;
}

int get(int port, const std::string &name, const std::string &sameAs) {
  int file = ::open(sameAs.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat status {};
  if (file < 0 || ::fstat(file, &status) != 0) fail(sameAs + ": " + std::strerror(errno));
  auto expectedSize = static_cast<size_t>(status.st_size);
  void *mapped = ::mmap(nullptr, expectedSize, PROT_READ, MAP_PRIVATE, file, 0);
  if (mapped == MAP_FAILED) fail(sameAs + ": mmap: " + std::strerror(errno));
  const auto *expected = static_cast<const char *>(mapped);
  SSL_CTX *context = clientContext(TLS1_3_VERSION);
  int fd = connectTo(port, false);
  SSL *ssl = ::SSL_new(context);
  if (ssl == nullptr || ::SSL_set_fd(ssl, fd) != 1 || ::SSL_connect(ssl) != 1)
    fail("handshake: " + openSslErrors());
  auto start = Clock::now();
  uint64_t size = askFor(ssl, name);
  if (size != expectedSize)
    fail("the server offers " + std::to_string(size) + " bytes, " + sameAs + " has " +
         std::to_string(expectedSize));
  std::vector<char> buffer(1 << 18);
  for (size_t got = 0; got < size;) {
    size_t count = 0;
    if (::SSL_read_ex(ssl, buffer.data(), std::min(buffer.size(), size - got), &count) != 1)
      fail("the download ended after " + std::to_string(got) + " bytes (" + openSslErrors() + ")");
    if (std::memcmp(buffer.data(), expected + got, count) != 0)
      fail("the download differs from " + sameAs + " near byte " + std::to_string(got));
    got += count;
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("bytes %llu\nseconds %.6f\n", static_cast<unsigned long long>(size), elapsed);
  printSession(ssl);
  ::SSL_free(ssl);
  ::close(fd);
  ::SSL_CTX_free(context);
  ::munmap(mapped, expectedSize);
  ::close(file);
  return 0;
}

int protocolVersion(const std::string &name) {
  if (name == "TLS1.2") return TLS1_2_VERSION;
  if (name == "TLS1.3") return TLS1_3_VERSION;
  fail("unknown protocol " + name + " (TLS1.2 or TLS1.3)");
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 7 && args[0] == "handshakes")
      return handshakes(std::stoi(args[1]), protocolVersion(args[2]), std::stoi(args[3]),
                        std::stod(args[4]), std::stoul(args[5]), std::stoul(args[6]));
    if (args.size() == 4 && args[0] == "get") return get(std::stoi(args[1]), args[2], args[3]);
  } catch (const std::exception &error) {
    std::fprintf(stderr, "tls_client: %s\n", error.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: tls_client handshakes PORT TLS1.2|TLS1.3 CONNECTIONS SECONDS SEND RECEIVE\n"
               "       tls_client get PORT NAME SAME_AS\n");
  return 2;
}
