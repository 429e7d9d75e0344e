// bench/xfer's client: one put or one get in either xfer dialect, on the wire
// as examples/xfer/*_client.py (a put is followed by a get that is refused,
// to learn when the server has stored it), at the kernel's pace (sendfile up,
// splice down), so that what bench/xfer measures is the server. The same
// client serves every server measured.
//   xfer_client framed|pipe PORT put FILE             uploads FILE under its base name
//   xfer_client framed|pipe PORT get NAME INTO SAME_AS  downloads NAME into INTO, which
//                                                       must then hold what SAME_AS does
// Prints "bytes N" and "seconds S"; on any failure (a refusal, a short or
// wrong transfer) says why and exits 1.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace {

constexpr size_t kPipeSize = 1 << 20;

[[noreturn]] void fail(const std::string &reason) {
  throw std::runtime_error(reason);
}

std::string systemError(const std::string &what) {
  return what + ": " + std::strerror(errno);
}

int connected(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0)
    fail(systemError("connect"));
  // The confirming get after a put's bytes must not wait for their last ACK.
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  return fd;
}

void sendAll(int socket, const std::string &bytes) {
  for (size_t sent = 0; sent < bytes.size();) {
    ssize_t count = ::send(socket, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) fail(systemError("send"));
    sent += static_cast<size_t>(count);
  }
}

std::string receiveExactly(int socket, size_t size) {
  std::string bytes(size, '\0');
  for (size_t got = 0; got < size;) {
    ssize_t count = ::recv(socket, bytes.data() + got, size - got, 0);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) fail(count == 0 ? "the server closed the connection" : systemError("recv"));
    got += static_cast<size_t>(count);
  }
  return bytes;
}

// What one recv brings: the pipe dialect's replies have no terminator, and
// its client takes a reply to be what one read returns.
std::string receiveReply(int socket) {
  char reply[1024];
  ssize_t count;
  do count = ::recv(socket, reply, sizeof reply, 0);
  while (count < 0 && errno == EINTR);
  if (count <= 0) fail(count == 0 ? "the server closed the connection" : systemError("recv"));
  return std::string(reply, static_cast<size_t>(count));
}

// struct.pack('i', n) in this machine's byte order, then the JSON.
std::string framed(const std::string &json) {
  auto length = static_cast<int32_t>(json.size());
  std::string bytes(sizeof length, '\0');
  std::memcpy(bytes.data(), &length, sizeof length);
  return bytes + json;
}

std::string receiveFramed(int socket) {
  int32_t length;
  std::memcpy(&length, receiveExactly(socket, sizeof length).data(), sizeof length);
  if (length <= 0 || length > 65536) fail("a reply's length is " + std::to_string(length));
  return receiveExactly(socket, static_cast<size_t>(length));
}

// The whole number after `key` in a reply: JSON's "filesize": N (with or
// without spaces), or the pipe's YES|N.
uint64_t numberAfter(const std::string &reply, const std::string &key) {
  size_t at = reply.find(key);
  if (at == std::string::npos) fail("unexpected reply: " + reply);
  at = reply.find_first_not_of(": ", at + key.size());
  if (at == std::string::npos) fail("unexpected reply: " + reply);
  const char *digits = reply.data() + at;
  uint64_t value = 0;
  if (std::from_chars(digits, reply.data() + reply.size(), value).ec != std::errc())
    fail("unexpected reply: " + reply);
  return value;
}

class Dialect {
 public:
  explicit Dialect(std::string name) : framed_(name == "framed") {
    if (!framed_ && name != "pipe") fail("the dialect is framed or pipe, not " + name);
  }

  // Sends a put's header; when this returns, its bytes may follow.
  void put(int socket, const std::string &name, uint64_t size) const {
    if (framed_) {
      sendAll(socket, framed("{\"cmd\": \"put\", \"filename\": \"" + name +
                             "\", \"filesize\": " + std::to_string(size) + "}"));
      return;
    }
    sendAll(socket, "put|" + name + "|" + std::to_string(size));
    if (std::string reply = receiveReply(socket); reply != "OK") fail("put refused: " + reply);
  }

  // Asks for `name`; returns its size once the server is about to send its bytes.
  uint64_t get(int socket, const std::string &name) const {
    sendAll(socket, request(name));
    if (framed_) {
      std::string reply = receiveFramed(socket);
      if (reply.find("\"error\"") != std::string::npos) fail("get refused: " + reply);
      return numberAfter(reply, "\"filesize\"");
    }
    std::string reply = receiveReply(socket);
    if (!reply.starts_with("YES|")) fail("get refused: " + reply);
    uint64_t size = numberAfter(reply, "YES|");
    sendAll(socket, "second_active");
    return size;
  }

  // Asks for a file that is not there and waits for the refusal. Both dialects
  // serve a connection's commands in order, so it comes only once the server has
  // taken every byte of the put before it: the upload is timed to its end in the
  // server, not to the last byte leaving this client's send buffer.
  void awaitRefusedGet(int socket) const {
    sendAll(socket, request("no-such-file.after-put"));
    std::string reply = framed_ ? receiveFramed(socket) : receiveReply(socket);
    bool refused = framed_ ? reply.find("\"error\"") != std::string::npos : reply == "NO|0";
    if (!refused) fail("expected a refused get after the put, got: " + reply);
  }

 private:
  std::string request(const std::string &name) const {
    return framed_ ? framed("{\"cmd\": \"get\", \"filename\": \"" + name + "\"}")
                   : "get|" + name + "|0";
  }

  bool framed_;
};

void sendFile(int socket, int file, uint64_t size) {
  for (uint64_t left = size; left > 0;) {
    ssize_t sent = ::sendfile(socket, file, nullptr, static_cast<size_t>(left));
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) fail(sent == 0 ? "the file shrank" : systemError("sendfile"));
    left -= static_cast<uint64_t>(sent);
  }
}

void receiveFile(int socket, int file, uint64_t size) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) fail(systemError("pipe"));
  ::fcntl(ends[1], F_SETPIPE_SZ, static_cast<int>(kPipeSize));
  for (uint64_t left = size; left > 0;) {
    ssize_t taken =
        ::splice(socket, nullptr, ends[1], nullptr,
                 static_cast<size_t>(std::min<uint64_t>(left, kPipeSize)), SPLICE_F_MOVE);
    if (taken < 0 && errno == EINTR) continue;
    if (taken <= 0)
      fail(taken == 0 ? "the server closed after " + std::to_string(size - left) + " of " +
                            std::to_string(size) + " bytes"
                      : systemError("splice from the socket"));
    for (ssize_t inPipe = taken; inPipe > 0;) {
      ssize_t written =
          ::splice(ends[0], nullptr, file, nullptr, static_cast<size_t>(inPipe), SPLICE_F_MOVE);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) fail(systemError("splice into the file"));
      inPipe -= written;
    }
    left -= static_cast<uint64_t>(taken);
  }
  ::close(ends[0]);
  ::close(ends[1]);
}

int opened(const std::string &path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) fail(systemError(path));
  return fd;
}

uint64_t sizeOf(int fd) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) fail(systemError("fstat"));
  return static_cast<uint64_t>(status.st_size);
}

void requireSameBytes(const std::string &path, const std::string &expected) {
  int got = opened(path, O_RDONLY), want = opened(expected, O_RDONLY);
  uint64_t size = sizeOf(got);
  if (size != sizeOf(want))
    fail(path + " has " + std::to_string(size) + " bytes, " + expected + " " +
         std::to_string(sizeOf(want)));
  if (size > 0) {
    void *a = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, got, 0);
    void *b = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, want, 0);
    if (a == MAP_FAILED || b == MAP_FAILED) fail(systemError("mmap"));
    if (std::memcmp(a, b, size) != 0) fail(path + " differs from " + expected);
    ::munmap(a, size);
    ::munmap(b, size);
  }
  ::close(got);
  ::close(want);
}

// The name as json.dumps writes it, for the names this bench sends: plain ones.
std::string plainName(const std::string &name) {
  bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '|' && c != '/';
  });
  if (!plain) fail("not a plain file name: " + name);
  return name;
}

}  // namespace

int main(int argc, char **argv) {
  std::string command = argc > 3 ? argv[3] : "";
  if (!(command == "put" && argc == 5) && !(command == "get" && argc == 7)) {
    std::fprintf(stderr,
                 "usage: xfer_client framed|pipe PORT put FILE\n"
                 "       xfer_client framed|pipe PORT get NAME INTO SAME_AS\n");
    return 2;
  }
  try {
    Dialect dialect(argv[1]);
    int port = std::atoi(argv[2]);
    auto started = std::chrono::steady_clock::now();
    uint64_t bytes;
    if (command == "put") {
      std::string path = argv[4];
      int file = opened(path, O_RDONLY);
      bytes = sizeOf(file);
      int socket = connected(port);
      dialect.put(socket, plainName(path.substr(path.rfind('/') + 1)), bytes);
      sendFile(socket, file, bytes);
      dialect.awaitRefusedGet(socket);
      ::close(socket);
      ::close(file);
    } else {
      int file = opened(argv[5], O_WRONLY | O_CREAT | O_TRUNC);
      int socket = connected(port);
      bytes = dialect.get(socket, plainName(argv[4]));
      receiveFile(socket, file, bytes);
      ::close(socket);
      ::close(file);
    }
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    if (command == "get") requireSameBytes(argv[5], argv[6]);
    std::printf("bytes %llu\nseconds %.6f\n", static_cast<unsigned long long>(bytes),
                elapsed.count());
    return 0;
  } catch (const std::exception &failure) {
    std::fprintf(stderr, "xfer_client: %s\n", failure.what());
    return 1;
  }
}
