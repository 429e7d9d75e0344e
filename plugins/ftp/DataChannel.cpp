#include "DataChannel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace ftp {
namespace {

// An IPv4-mapped IPv6 address as the IPv4 address it is.
sockaddr_storage unmapped(const sockaddr_storage &address) {
  if (address.ss_family != AF_INET6) return address;
  const auto &six = reinterpret_cast<const sockaddr_in6 &>(address);
  if (!IN6_IS_ADDR_V4MAPPED(&six.sin6_addr)) return address;
  sockaddr_storage four{};
  auto &v4 = reinterpret_cast<sockaddr_in &>(four);
  v4.sin_family = AF_INET;
  v4.sin_port = six.sin6_port;
  std::memcpy(&v4.sin_addr, six.sin6_addr.s6_addr + 12, 4);
  return four;
}

void setPort(sockaddr_storage &address, uint16_t port) {
  if (address.ss_family == AF_INET)
    reinterpret_cast<sockaddr_in &>(address).sin_port = htons(port);
  else
    reinterpret_cast<sockaddr_in6 &>(address).sin6_port = htons(port);
}

socklen_t lengthOf(const sockaddr_storage &address) {
  return address.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

uint16_t portOf(const sockaddr_storage &address) {
  return ntohs(address.ss_family == AF_INET
                   ? reinterpret_cast<const sockaddr_in &>(address).sin_port
                   : reinterpret_cast<const sockaddr_in6 &>(address).sin6_port);
}

// Buffer sizes are left to the kernel's autotuning, which grows them past
// any fixed size worth setting.
void tune(int fd) {
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

}  // namespace

std::string ipText(const sockaddr_storage &address) {
  sockaddr_storage plain = unmapped(address);
  char text[INET6_ADDRSTRLEN] = "";
  if (plain.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in &>(plain).sin_addr, text, sizeof text);
  else
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 &>(plain).sin6_addr, text,
                sizeof text);
  return text;
}

bool sameIp(const sockaddr_storage &a, const sockaddr_storage &b) {
  sockaddr_storage x = unmapped(a), y = unmapped(b);
  if (x.ss_family != y.ss_family) return false;
  if (x.ss_family == AF_INET)
    return std::memcmp(&reinterpret_cast<sockaddr_in &>(x).sin_addr,
                       &reinterpret_cast<sockaddr_in &>(y).sin_addr, 4) == 0;
  return std::memcmp(&reinterpret_cast<sockaddr_in6 &>(x).sin6_addr,
                     &reinterpret_cast<sockaddr_in6 &>(y).sin6_addr, 16) == 0;
}

bool DataChannel::listenPassive(const sockaddr_storage &local, uint16_t &port) {
  clear();
  sockaddr_storage address = local;
  Fd socket(::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket.valid()) return false;
  tune(socket.get());
  // A port of the range often still has connections in TIME_WAIT from the
  // last transfers on it; without this, binding past them works only
  // sometimes, and a client's SYN may meet the old connection and wait 1 s.
  int on = 1;
  ::setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  bool bound = false;
  if (firstPort_ == 0) {
    setPort(address, 0);
    bound = ::bind(socket.get(), reinterpret_cast<sockaddr *>(&address), lengthOf(address)) == 0;
  } else {
    // Start at a random port of the range, so sessions do not all race for the first.
    static thread_local std::minstd_rand random{std::random_device{}()};
    uint32_t span = static_cast<uint32_t>(lastPort_ - firstPort_) + 1;
    uint32_t start = random() % span;
    for (uint32_t i = 0; i < span && !bound; ++i) {
      setPort(address, static_cast<uint16_t>(firstPort_ + (start + i) % span));
      bound = ::bind(socket.get(), reinterpret_cast<sockaddr *>(&address), lengthOf(address)) == 0;
    }
  }
  if (!bound || ::listen(socket.get(), 1) != 0) return false;
  socklen_t length = sizeof address;
  ::getsockname(socket.get(), reinterpret_cast<sockaddr *>(&address), &length);
  port = portOf(address);
  listener_ = std::move(socket);
  listeningSince_ = std::chrono::steady_clock::now();
  return true;
}

void DataChannel::connectTo(const sockaddr_storage &target) {
  clear();
  target_ = target;
  hasTarget_ = true;
}

void DataChannel::clear() {
  listener_.reset();
  hasTarget_ = false;
}

std::optional<std::chrono::milliseconds> DataChannel::passiveLeft(
    std::chrono::milliseconds limit) const {
  if (!listener_.valid()) return std::nullopt;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      listeningSince_ + limit - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

void DataChannel::closeIdlePassive() {
  listener_.reset();  // before the line that says so: a reader of the log may try the port
  log_("closed a passive port no transfer used within data_timeout");
}

Fd DataChannel::open(const sockaddr_storage &controlLocal, const sockaddr_storage &controlPeer,
                     std::chrono::milliseconds timeout, std::string &error) {
  Fd connection;
  if (listener_.valid())
    connection = acceptFrom(controlPeer, timeout, error);
  else if (hasTarget_)
    connection = connectActive(controlLocal, timeout, error);
  else
    error = "Use PORT, EPRT, PASV or EPSV first.";
  clear();
  return connection;
}

Fd DataChannel::acceptFrom(const sockaddr_storage &controlPeer, std::chrono::milliseconds timeout,
                           std::string &error) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd ready{listener_.get(), POLLIN, 0};
    int count = ::poll(&ready, 1, static_cast<int>(std::max<long>(left.count(), 0)));
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) {
      error = "Failed to establish connection (timed out).";
      return Fd();
    }
    Fd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!connection.valid()) continue;
    std::optional<sockaddr_storage> client = clientOf_(connection.get());
    if (!client) continue;
    if (!sameIp(*client, controlPeer)) {
      // Someone else raced the client to the port (data connection theft).
      log_("refused a data connection from " + ipText(*client) + " (the client is " +
           ipText(controlPeer) + ")");
      continue;
    }
    tune(connection.get());
    return connection;
  }
}

Fd DataChannel::connectActive(const sockaddr_storage &controlLocal,
                              std::chrono::milliseconds timeout, std::string &error) {
  Fd connection(::socket(target_.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!connection.valid()) {
    error = "Failed to establish connection.";
    return Fd();
  }
  tune(connection.get());
  sockaddr_storage source = controlLocal;  // leave from the address the client talks to
  if (source.ss_family == target_.ss_family) {
    setPort(source, 0);
    ::bind(connection.get(), reinterpret_cast<sockaddr *>(&source), lengthOf(source));
  }
  if (::connect(connection.get(), reinterpret_cast<const sockaddr *>(&target_),
                lengthOf(target_)) != 0 &&
      errno != EINPROGRESS) {
    error = std::string("Failed to establish connection: ") + std::strerror(errno) + ".";
    return Fd();
  }
  pollfd ready{connection.get(), POLLOUT, 0};
  int result = 0;
  socklen_t length = sizeof result;
  if (::poll(&ready, 1, static_cast<int>(timeout.count())) <= 0 ||
      ::getsockopt(connection.get(), SOL_SOCKET, SO_ERROR, &result, &length) != 0 || result != 0) {
    error = "Failed to establish connection.";
    return Fd();
  }
  return connection;
}

}  // namespace ftp
