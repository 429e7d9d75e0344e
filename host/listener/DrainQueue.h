// Internal. Drains the listeners a reload retired, one after another, on one
// thread of its own, so that a reload never needs a new thread once this one
// runs: start() is called while a reload may still fail (no thread to be had
// refuses the reload), push() only after it can no longer fail.
// Each listener's drain is bounded by drain_timeout (ListenerSet::enforce
// cuts what remains), so one slow listener delays the next only that long.
// THREAD: any, one at a time.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

namespace wharf::listener {

class Listener;

class DrainQueue {
 public:
  DrainQueue() = default;
  ~DrainQueue();  // finish()
  DrainQueue(const DrainQueue &) = delete;
  DrainQueue &operator=(const DrainQueue &) = delete;

  // Starts the draining thread if it does not run yet. Throws
  // std::system_error if no thread can be had.
  void start();
  // After start(). `listener` must live until takeDrained() is true for it.
  void push(Listener *listener);
  // True, once, when `listener` has drained.
  bool takeDrained(const Listener *listener);
  // Drains what is queued, then stops the thread.
  void finish();

 private:
  void run() noexcept;

  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<Listener *> queue_;
  std::set<const Listener *> drained_;
  bool finishing_ = false;
  std::thread thread_;
};

}  // namespace wharf::listener
