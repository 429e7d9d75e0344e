// Internal. An epoll loop: descriptors with a handler each, run on one thread.
// watch/modify/unwatch and run are for the loop thread; wake() is for any.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <functional>

#include "net/HostDescriptor.h"

namespace wharf::net {

class IoHandler {
 public:
  // THREAD: the loop. `events` are EPOLL* bits.
  virtual void onEvents(uint32_t events) = 0;

 protected:
  ~IoHandler() = default;
};

class EventLoop {
 public:
  EventLoop();

  void watch(int fd, uint32_t events, IoHandler *handler);
  void modify(int fd, uint32_t events, IoHandler *handler);
  void unwatch(int fd);

  // Dispatches events until `keepGoing` returns false. It is asked after each
  // batch, after each wake(), and at least every `tick` (then `onTick` runs).
  void run(const std::function<bool()> &keepGoing, std::chrono::milliseconds tick,
           const std::function<void()> &onTick);
  // THREAD: any. Makes run() ask keepGoing again soon.
  void wake();

 private:
  HostDescriptor epoll_;
  HostDescriptor wakeup_;  // an eventfd
};

}  // namespace wharf::net
