// Internal. `mode = thread`: a thread per session. Threads are detached and
// counted, so each one's resources go back as soon as its session ends (no
// growing list of finished threads), and stop() waits for the count to reach 0.
#pragma once

#include <condition_variable>
#include <mutex>

#include "dispatch/BlockingDispatcher.h"

namespace wharf::dispatch {

class ThreadDispatcher : public BlockingDispatcher {
 public:
  using BlockingDispatcher::BlockingDispatcher;

 protected:
  bool schedule(PendingSessionPtr session) override;
  void waitForSessions() override;

 private:
  std::mutex mutex_;
  std::condition_variable idle_;
  size_t running_ = 0;
};

}  // namespace wharf::dispatch
