#include "process/SealedMemory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace wharf::process {

net::FileDescriptor sealedMemory(std::string_view contents) {
  net::FileDescriptor file(::memfd_create("wharf-handover", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!file.valid()) throw std::system_error(errno, std::generic_category(), "memfd_create");
  for (size_t written = 0; written < contents.size();) {
    ssize_t wrote = ::write(file.fd(), contents.data() + written, contents.size() - written);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) throw std::system_error(errno, std::generic_category(), "writing a memfd");
    written += static_cast<size_t>(wrote);
  }
  ::fcntl(file.fd(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  return file;
}

std::string readWhole(int fd) {
  std::string contents;
  char chunk[65536];
  for (;;) {
    ssize_t got = ::pread(fd, chunk, sizeof chunk, static_cast<off_t>(contents.size()));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return contents;
    contents.append(chunk, static_cast<size_t>(got));
  }
}

}  // namespace wharf::process
