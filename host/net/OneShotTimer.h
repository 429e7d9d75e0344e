// Internal. A timer on an EventLoop (a timerfd): start(d) calls back once,
// on the loop's thread, when d has passed. THREAD: the loop's.
#pragma once

#include <chrono>
#include <functional>

#include "net/EventLoop.h"
#include "net/HostDescriptor.h"

namespace wharf::net {

class OneShotTimer : private IoHandler {
 public:
  OneShotTimer(EventLoop &loop, std::function<void()> expired);
  ~OneShotTimer();
  OneShotTimer(const OneShotTimer &) = delete;
  OneShotTimer &operator=(const OneShotTimer &) = delete;

  // (Re)arms the timer; a running one is replaced.
  void start(std::chrono::nanoseconds after);

 private:
  void onEvents(uint32_t events) override;

  EventLoop &loop_;
  std::function<void()> expired_;
  HostDescriptor timer_;
};

}  // namespace wharf::net
