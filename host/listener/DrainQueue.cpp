#include "listener/DrainQueue.h"

#include "listener/Listener.h"

namespace wharf::listener {

DrainQueue::~DrainQueue() {
  finish();
}

void DrainQueue::start() {
  if (thread_.joinable()) return;
  std::lock_guard lock(mutex_);
  finishing_ = false;
  thread_ = std::thread([this] { run(); });
}

void DrainQueue::push(Listener *listener) {
  std::lock_guard lock(mutex_);
  queue_.push_back(listener);
  queued_.notify_one();
}

bool DrainQueue::takeDrained(const Listener *listener) {
  std::lock_guard lock(mutex_);
  return drained_.erase(listener) != 0;
}

void DrainQueue::finish() {
  {
    std::lock_guard lock(mutex_);
    finishing_ = true;
  }
  queued_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void DrainQueue::run() noexcept {
  std::unique_lock lock(mutex_);
  for (;;) {
    queued_.wait(lock, [this] { return finishing_ || !queue_.empty(); });
    if (queue_.empty()) return;  // finishing, and nothing left to drain
    Listener *next = queue_.front();
    lock.unlock();
    next->drain();
    lock.lock();
    queue_.pop_front();
    drained_.insert(next);
  }
}

}  // namespace wharf::listener
