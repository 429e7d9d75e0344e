// Internal. An epoll loop: descriptors with a handler each, run on one thread.
// watch/modify/unwatch, deferDelete and run are for the loop thread; wake()
// is for any.
//
// LIFETIME: one epoll_wait batch may name a handler several times (a session's
// socket, its timer and its mailbox), and an earlier event may end the object
// a later one names. So nothing reachable from an event is freed inside a
// handler: it is handed to deferDelete() and destroyed once the batch is done
// (Envoy's deferred delete), and a handler that was retired ignores what the
// rest of its batch brings.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/BusyLoops.h"
#include "net/HostDescriptor.h"

namespace wharf::net {

class IoHandler {
 public:
  // THREAD: the loop. `events` are EPOLL* bits.
  virtual void onEvents(uint32_t events) = 0;

 protected:
  ~IoHandler() = default;
};

// What the loop may destroy for its owner, later.
class Deferred {
 public:
  virtual ~Deferred() = default;

 private:
  friend class EventLoop;
  Deferred *nextDeferred_ = nullptr;  // the loop's list: deferring needs no memory
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();  // destroys what is still deferred
  EventLoop(const EventLoop &) = delete;
  EventLoop &operator=(const EventLoop &) = delete;

  void watch(int fd, uint32_t events, IoHandler *handler);
  void modify(int fd, uint32_t events, IoHandler *handler);
  void unwatch(int fd);
  // Destroys `object` once the current batch of events has been handled
  // (at once if run() is not running). Unwatch its descriptors first.
  void deferDelete(std::unique_ptr<Deferred> object) noexcept;

  // Dispatches events until `keepGoing` returns false. It is asked after each
  // batch, after each wake(), and at least every `tick` (then `onTick` runs).
  void run(const std::function<bool()> &keepGoing, std::chrono::milliseconds tick,
           const std::function<void()> &onTick);
  // THREAD: any. Makes run() ask keepGoing again soon.
  void wake();
  // Before run(): `observe` gets how long each batch of events held the
  // loop (handlers and what they retired): the most a ready event waited.
  void observeBatches(std::function<void(std::chrono::nanoseconds)> observe);
  // What net::busyLoops() calls this loop ("an event loop" until named).
  void setName(std::string name) { activity_.rename(std::move(name)); }

 private:
  void destroyDeferred() noexcept;

  HostDescriptor epoll_;
  HostDescriptor wakeup_;  // an eventfd
  bool dispatching_ = false;
  std::function<void(std::chrono::nanoseconds)> observeBatch_;
  Deferred *deferred_ = nullptr;  // owned, newest first
  LoopActivity activity_{"an event loop"};
};

}  // namespace wharf::net
