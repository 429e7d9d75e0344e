// Internal. `mode = sync`: one session at a time, served on the loop thread
// itself (socketserver's default). The next connection waits in the backlog.
#pragma once

#include "dispatch/BlockingDispatcher.h"

namespace wharf::dispatch {

class SyncDispatcher : public BlockingDispatcher {
 public:
  using BlockingDispatcher::BlockingDispatcher;

 protected:
  bool schedule(PendingSessionPtr session) override {
    serve(*session);
    return true;
  }
  void waitForSessions() override {}  // the loop thread has served them all
};

}  // namespace wharf::dispatch
