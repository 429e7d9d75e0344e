// Internal. `mode = pool`: `workers` threads serve sessions; up to `queue`
// more wait for a free worker; beyond that a session is refused at once
// (queue_full). Never an unbounded pile-up. Stopping serves what is queued.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "dispatch/BlockingDispatcher.h"

namespace wharf::dispatch {

class PoolDispatcher : public BlockingDispatcher {
 public:
  explicit PoolDispatcher(const DispatchContext &context);
  ~PoolDispatcher() override;

  void start() override;
  size_t cutHeldSessions() override;

 protected:
  bool schedule(PendingSessionPtr session) override;
  void waitForSessions() override;

 private:
  void work() noexcept;

  const size_t queueLimit_;
  const size_t workerCount_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<PendingSessionPtr> queue_;
  size_t busy_ = 0;  // sessions workers are serving
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace wharf::dispatch
