#include "session/HandoverBell.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wharf::session {
namespace {

ino_t inodeOf(int fd) {
  struct stat status {};
  return ::fstat(fd, &status) == 0 ? status.st_ino : 0;
}

}  // namespace

HandoverBell::~HandoverBell() {
  for (End *end : {&read_, &write_})
    if (end->descriptor.valid() && !end->intact()) end->descriptor.release().release();
}

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
  if (!read_.intact() || !write_.intact()) return;
  pollfd ready{read_.descriptor.fd(), POLLIN, 0};
  bool readable = ::poll(&ready, 1, 0) == 1;
  char bytes[64] = {1};
  if (ringing_) {
    ssize_t written = readable ? 1 : ::write(write_.descriptor.fd(), bytes, 1);
    (void)written;  // an empty pipe always takes a byte
    return;
  }
  while (::read(read_.descriptor.fd(), bytes, sizeof bytes) > 0) {
  }
}

}  // namespace wharf::session
