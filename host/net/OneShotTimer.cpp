#include "net/OneShotTimer.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace wharf::net {

OneShotTimer::OneShotTimer(EventLoop &loop, std::function<void()> expired)
    : loop_(loop),
      expired_(std::move(expired)),
      timer_(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) {
  if (!timer_.valid()) throw std::system_error(errno, std::generic_category(), "timerfd_create");
  loop_.watch(timer_.fd(), EPOLLIN, this);
}

OneShotTimer::~OneShotTimer() {
  loop_.unwatch(timer_.fd());
}

void OneShotTimer::start(std::chrono::nanoseconds after) {
  // A zero it_value disarms: round up to the smallest delay that fires.
  auto nanoseconds = std::max<int64_t>(after.count(), 1);
  itimerspec when{};
  when.it_value.tv_sec = static_cast<time_t>(nanoseconds / 1'000'000'000);
  when.it_value.tv_nsec = static_cast<long>(nanoseconds % 1'000'000'000);
  ::timerfd_settime(timer_.fd(), 0, &when, nullptr);
}

void OneShotTimer::onEvents(uint32_t) {
  uint64_t expirations = 0;
  if (::read(timer_.fd(), &expirations, sizeof expirations) != sizeof expirations) return;
  expired_();
}

}  // namespace wharf::net
