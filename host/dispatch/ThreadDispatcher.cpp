#include "dispatch/ThreadDispatcher.h"

#include <thread>

namespace wharf::dispatch {

bool ThreadDispatcher::schedule(PendingSessionPtr session) {
  {
    std::lock_guard lock(mutex_);
    ++running_;
  }
  try {
    std::thread([this, session = std::move(session)]() mutable {
      serve(*session);
      session.reset();  // release the session's place before reporting the end
      std::lock_guard lock(mutex_);
      if (--running_ == 0) idle_.notify_all();
    }).detach();
    return true;
  } catch (...) {
    std::lock_guard lock(mutex_);
    if (--running_ == 0) idle_.notify_all();
    throw;
  }
}

void ThreadDispatcher::waitForSessions() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return running_ == 0; });
}

}  // namespace wharf::dispatch
