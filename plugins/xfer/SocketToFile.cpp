#include "SocketToFile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace xfer {
namespace {

constexpr int kPipeSize = 1 << 20;

}  // namespace

SocketToFile::SocketToFile(int socket) : socket_(socket) {
  if (socket < 0) return;
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return;
  pipeRead_ = common::Fd(ends[0]);
  pipeWrite_ = common::Fd(ends[1]);
  ::fcntl(ends[1], F_SETPIPE_SZ, kPipeSize);  // best effort: the default 64 KiB also works
}

size_t SocketToFile::move(int file, size_t most) {
  ssize_t taken;
  do {
    taken = ::splice(socket_, nullptr, pipeWrite_.get(), nullptr, most, SPLICE_F_MOVE);
  } while (taken < 0 && errno == EINTR);
  if (taken == 0) throw SocketEnded(End::Peer, "the client closed");
  if (taken < 0) {
    if (errno == EAGAIN) throw SocketEnded(End::Timeout, "idle_timeout: the client sent nothing");
    if (errno == ECONNRESET) throw SocketEnded(End::Peer, "the client reset the connection");
    throw SocketEnded(End::Error, std::strerror(errno));
  }
  size_t left = static_cast<size_t>(taken);
  while (left > 0) {  // on a failure the session ends: bytes left in the pipe do not matter
    ssize_t written = ::splice(pipeRead_.get(), nullptr, file, nullptr, left, SPLICE_F_MOVE);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0)
      throw std::runtime_error(std::string("cannot store: ") +
                               std::strerror(written < 0 ? errno : ENOSPC));
    left -= static_cast<size_t>(written);
  }
  return static_cast<size_t>(taken);
}

}  // namespace xfer
