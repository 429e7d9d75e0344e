#include "BlockingChannel.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "FileChunks.h"

namespace xfer {
namespace {

// Each call's bytes are reported to the host as they go: a long download
// counts in the listener's metrics as it flows, not at its end.
constexpr uint64_t kMostPerCall = 4 << 20;

// Whether the kernel's unsent bytes for `socket` differ from `last` (updated).
bool unsentChanged(int socket, int &last) {
  int unsent = 0;
  if (::ioctl(socket, SIOCOUTQ, &unsent) != 0) return false;
  return std::exchange(last, unsent) != unsent;
}

}  // namespace

bool BlockingChannel::sendFile(common::Fd file, uint64_t size) {
  int socket = session_.socket();
  off_t offset = 0;
  int unsent = 0;
  uint64_t remaining = size;
  while (remaining > 0 && socket >= 0) {
    ssize_t sent = ::sendfile(socket, file.get(), &offset,
                              static_cast<size_t>(std::min(remaining, kMostPerCall)));
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EINVAL || errno == ENOSYS)) break;  // not this file system
    if (sent < 0 && errno == EAGAIN) {
      // SO_SNDTIMEO (idle_timeout) ran out. A slow reader may still be emptying a send
      // buffer of megabytes (the kernel wakes writers only when a third is free).
      if (unsentChanged(socket, unsent)) continue;
      throw std::runtime_error("idle_timeout: the peer stopped reading");
    }
    if (sent < 0) throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
    if (sent == 0) throw std::runtime_error("the file shrank while being sent");
    remaining -= static_cast<uint64_t>(sent);
    session_.countBytes(WHARF_BYTES_SESSION_SOCKET, 0, static_cast<uint64_t>(sent));
  }
  // A host without session_socket, or a file sendfile cannot read: copy.
  FileChunks rest(std::move(file), static_cast<uint64_t>(offset), remaining);
  while (rest.writeNext(session_)) {
  }
  return true;
}

}  // namespace xfer
