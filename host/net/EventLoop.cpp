#include "net/EventLoop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>
#include <utility>

namespace wharf::net {
namespace {

constexpr int kBatch = 256;

void control(int epoll, int operation, int fd, uint32_t events, IoHandler *handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  if (::epoll_ctl(epoll, operation, fd, &event) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
}

}  // namespace

EventLoop::EventLoop()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wakeup_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!epoll_.valid() || !wakeup_.valid())
    throw std::system_error(errno, std::generic_category(), "epoll_create1/eventfd");
  control(epoll_.fd(), EPOLL_CTL_ADD, wakeup_.fd(), EPOLLIN, nullptr);
}

EventLoop::~EventLoop() {
  destroyDeferred();
}

void EventLoop::watch(int fd, uint32_t events, IoHandler *handler) {
  control(epoll_.fd(), EPOLL_CTL_ADD, fd, events, handler);
}

void EventLoop::modify(int fd, uint32_t events, IoHandler *handler) {
  control(epoll_.fd(), EPOLL_CTL_MOD, fd, events, handler);
}

void EventLoop::unwatch(int fd) {
  ::epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::deferDelete(std::unique_ptr<Deferred> object) noexcept {
  if (!dispatching_) return;  // `object` goes now: no batch can name it
  Deferred *raw = object.release();
  raw->nextDeferred_ = deferred_;
  deferred_ = raw;
}

// A destructor may retire more (a plugin's close hook ending another
// session): still dispatching, it joins the list and goes in this loop.
void EventLoop::destroyDeferred() noexcept {
  bool wasDispatching = std::exchange(dispatching_, true);
  while (Deferred *next = deferred_) {
    deferred_ = next->nextDeferred_;
    delete next;
  }
  dispatching_ = wasDispatching;
}

void EventLoop::observeBatches(std::function<void(std::chrono::nanoseconds)> observe) {
  observeBatch_ = std::move(observe);
}

void EventLoop::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t written = ::write(wakeup_.fd(), &one, sizeof one);
}

void EventLoop::run(const std::function<bool()> &keepGoing, std::chrono::milliseconds tick,
                    const std::function<void()> &onTick) {
  epoll_event events[kBatch];
  auto nextTick = std::chrono::steady_clock::now() + tick;
  // The owner's work between batches (a reactor's posted tasks run plugin
  // hooks: a live migration's import) counts as dispatching too, so a hook
  // stuck there shows in the heartbeat as one stuck in a batch does.
  auto goingOn = [&] {
    activity_.dispatching();
    struct Waiting {
      LoopActivity &activity;
      ~Waiting() { activity.waiting(); }
    } waiting{activity_};
    return keepGoing();
  };
  while (goingOn()) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        nextTick - std::chrono::steady_clock::now());
    int ready = ::epoll_wait(epoll_.fd(), events, kBatch,
                             static_cast<int>(std::max<int64_t>(0, wait.count())));
    if (ready < 0 && errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "epoll_wait");
    auto batchStart = std::chrono::steady_clock::now();
    dispatching_ = true;
    activity_.dispatching();
    try {
      for (int i = 0; i < ready; ++i) {
        auto *handler = static_cast<IoHandler *>(events[i].data.ptr);
        if (handler != nullptr) {
          handler->onEvents(events[i].events);
          continue;
        }
        uint64_t count = 0;
        [[maybe_unused]] ssize_t got = ::read(wakeup_.fd(), &count, sizeof count);
      }
      if (std::chrono::steady_clock::now() >= nextTick) {
        onTick();
        nextTick = std::chrono::steady_clock::now() + tick;
      }
    } catch (...) {  // the owner's handlers threw: what they retired goes all the same
      destroyDeferred();
      dispatching_ = false;
      activity_.waiting();
      throw;
    }
    destroyDeferred();
    dispatching_ = false;
    activity_.waiting();
    if (observeBatch_ && ready > 0) observeBatch_(std::chrono::steady_clock::now() - batchStart);
  }
}

}  // namespace wharf::net
