#include "session/HandoverBell.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wharf::session {
namespace {

ino_t inodeOf(int fd) {
  struct stat status {};
  return ::fstat(fd, &status) == 0 ? status.st_ino : 0;
}

}  // namespace

bool HandoverBell::End::intact() const {
  return descriptor.valid() && inodeOf(descriptor.fd()) == inode;
}

int HandoverBell::fd() {
  std::lock_guard lock(mutex_);
  if (!read_.descriptor.valid()) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    read_.descriptor = net::HostDescriptor(ends[0]);
    write_.descriptor = net::HostDescriptor(ends[1]);
    read_.inode = write_.inode = inodeOf(ends[0]);  // one pipe: one inode
    signal();
  }
  return read_.descriptor.fd();
}

void HandoverBell::ring() {
  std::lock_guard lock(mutex_);
  ringing_ = true;
  signal();
}

void HandoverBell::silence() {
  std::lock_guard lock(mutex_);
  ringing_ = false;
  signal();
}

void HandoverBell::signal() {
  if (ringing_ == rung_ || !read_.descriptor.valid()) return;
  char byte = 1;
  if (ringing_ && write_.intact() && ::write(write_.descriptor.fd(), &byte, 1) == 1) rung_ = true;
  if (!ringing_ && read_.intact() && ::read(read_.descriptor.fd(), &byte, 1) == 1) rung_ = false;
}

}  // namespace wharf::session
