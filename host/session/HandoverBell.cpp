#include "session/HandoverBell.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace wharf::session {

int HandoverBell::fd() {
  std::lock_guard lock(mutex_);
  if (!event_.valid()) {
    int made = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (made < 0) return -1;
    event_ = net::HostDescriptor(made);
    signal();
  }
  return event_.fd();
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
  if (!event_.valid()) return;
  uint64_t count = 0;
  if (ringing_) {
    count = 1;
    [[maybe_unused]] ssize_t written = ::write(event_.fd(), &count, sizeof count);
  } else {
    [[maybe_unused]] ssize_t read = ::read(event_.fd(), &count, sizeof count);  // drains it
  }
}

}  // namespace wharf::session
