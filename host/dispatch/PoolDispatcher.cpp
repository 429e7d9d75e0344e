#include "dispatch/PoolDispatcher.h"

namespace wharf::dispatch {

PoolDispatcher::PoolDispatcher(const DispatchContext &context)
    : BlockingDispatcher(context),
      queueLimit_(context.config.pool.queue),
      workerCount_(context.config.pool.workers) {}

PoolDispatcher::~PoolDispatcher() {
  waitForSessions();
}

void PoolDispatcher::start() {
  for (size_t i = 0; i < workerCount_; ++i) workers_.emplace_back([this] { work(); });
  BlockingDispatcher::start();
}

bool PoolDispatcher::schedule(PendingSessionPtr session) {
  std::lock_guard lock(mutex_);
  // Bounded by count, not by which threads happen to be scheduled right now.
  if (busy_ + queue_.size() >= workerCount_ + queueLimit_) return false;
  // Another worker's session waits for nothing: its old worker holds it
  // frozen until this one imports it, which only a free thread does now.
  if (session->arrival && busy_ + queue_.size() >= workerCount_) return false;
  queue_.push_back(std::move(session));
  ready_.notify_one();
  return true;
}

void PoolDispatcher::work() noexcept {
  std::unique_lock lock(mutex_);
  for (;;) {
    ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to serve
    PendingSessionPtr next = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    serve(*next);
    next.reset();  // the session's place goes before the worker waits again
    lock.lock();
    --busy_;
  }
}

size_t PoolDispatcher::cutHeldSessions() {
  std::deque<PendingSessionPtr> abandoned;
  {
    std::lock_guard lock(mutex_);
    abandoned.swap(queue_);
  }
  return abandoned.size();  // destroying them closes their connections
}

void PoolDispatcher::waitForSessions() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto &worker : workers_) worker.join();
  workers_.clear();
}

}  // namespace wharf::dispatch
