#include "Stream.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace ftp {

Stream::Written Stream::writeAll(const void *data, size_t length, std::chrono::milliseconds stall) {
  const char *at = static_cast<const char *>(data);
  while (length > 0) {
    ssize_t sent = write(at, length);
    if (sent == kWouldBlock) {
      pollfd ready{fd(), waitEvents(false), 0};
      int count = ::poll(&ready, 1, static_cast<int>(stall.count()));
      if (count == 0) return Written::Stalled;
      if (count < 0 && errno != EINTR) return Written::Gone;
      continue;
    }
    if (sent <= 0) return Written::Gone;
    at += sent;
    length -= static_cast<size_t>(sent);
  }
  return Written::All;
}

ssize_t PlainStream::read(void *buffer, size_t capacity) {
  for (;;) {
    ssize_t got = ::recv(fd(), buffer, capacity, MSG_DONTWAIT);
    if (got >= 0) return got;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? kWouldBlock : -1;
  }
}

ssize_t PlainStream::write(const void *data, size_t length) {
  for (;;) {
    ssize_t sent = ::send(fd(), data, length, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return sent;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? kWouldBlock : -1;
  }
}

short PlainStream::waitEvents(bool reading) const {
  return reading ? POLLIN : POLLOUT;
}

}  // namespace ftp
