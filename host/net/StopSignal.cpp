#include "net/StopSignal.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace wharf::net {

StopSignal::StopSignal() : event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!event_.valid()) throw std::system_error(errno, std::generic_category(), "eventfd");
}

void StopSignal::request() {
  uint64_t one = 1;
  // Never read back: the eventfd stays readable so every waiter wakes.
  [[maybe_unused]] ssize_t written = ::write(event_.fd(), &one, sizeof one);
}

bool StopSignal::requested() const {
  pollfd probe{event_.fd(), POLLIN, 0};
  return ::poll(&probe, 1, 0) > 0;
}

bool StopSignal::waitReadable(int fd) const {
  return waitReadableFor(fd, std::chrono::milliseconds(-1)) == Wait::Readable;
}

StopSignal::Wait StopSignal::waitReadableFor(int fd, std::chrono::milliseconds timeout) const {
  pollfd fds[2] = {{fd, POLLIN, 0}, {event_.fd(), POLLIN, 0}};
  for (;;) {
    int ready = ::poll(fds, 2, static_cast<int>(timeout.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0 || fds[1].revents != 0) return Wait::Stopped;
    if (fds[0].revents != 0) return Wait::Readable;
    if (ready == 0) return Wait::TimedOut;
  }
}

bool StopSignal::sleepFor(std::chrono::nanoseconds duration) const {
  auto milliseconds = std::chrono::ceil<std::chrono::milliseconds>(duration).count();
  pollfd stop{event_.fd(), POLLIN, 0};
  return ::poll(&stop, 1, static_cast<int>(milliseconds)) == 0;
}

}  // namespace wharf::net
