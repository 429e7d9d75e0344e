#include "FilePipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace ftp {
namespace {
constexpr int kCapacity = 1 << 20;  // fs.pipe-max-size's default: no privilege needed
}

std::optional<FilePipe> FilePipe::make() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return std::nullopt;
  Fd read(ends[0]), write(ends[1]);
  int capacity = ::fcntl(write.get(), F_SETPIPE_SZ, kCapacity);
  if (capacity < 0) capacity = ::fcntl(write.get(), F_GETPIPE_SZ);
  if (capacity <= 0) return std::nullopt;
  return FilePipe(std::move(read), std::move(write), static_cast<size_t>(capacity));
}

ssize_t FilePipe::fill(int file, off_t &offset, size_t length) {
  ssize_t taken =
      ::splice(file, &offset, write_.get(), nullptr, std::min(length, capacity_), SPLICE_F_MOVE);
  if (taken > 0) held_ = static_cast<size_t>(taken);
  return taken;
}

ssize_t FilePipe::drain(int socket) {
  ssize_t moved = ::splice(read_.get(), nullptr, socket, nullptr, held_, SPLICE_F_MOVE);
  if (moved > 0) held_ -= static_cast<size_t>(moved);
  return moved;
}

}  // namespace ftp
