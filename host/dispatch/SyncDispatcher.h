// Internal. `mode = sync`: one session at a time, served on the loop thread
// itself (socketserver's default). The next connection waits in the backlog,
// so a hook that never returns stops the listener: each hook's time counts
// as the loop's, which the worker's heartbeat watches (net/BusyLoops.h).
#pragma once

#include "dispatch/BlockingDispatcher.h"
#include "net/BusyLoops.h"

namespace wharf::dispatch {

class SyncDispatcher : public BlockingDispatcher {
 public:
  explicit SyncDispatcher(const DispatchContext &context)
      : BlockingDispatcher(context), loop_("[" + context.config.section() + "] sync loop") {}

 protected:
  bool schedule(PendingSessionPtr session) override {
    net::HooksCountAgainst counted(&loop_);
    serve(*session);
    return true;
  }
  void waitForSessions() override {}  // the loop thread has served them all
  // Served on the loop thread, another worker's session would hold up the
  // link's: sync sessions move only at reloads, never across workers.
  bool handOverSessions(std::shared_ptr<HandoverLink>, pid_t, std::chrono::milliseconds) override {
    return false;
  }
  bool adoptSession(Poco::JSON::Object::Ptr, net::FileDescriptor &,
                    std::shared_ptr<HandoverLink>) override {
    return false;
  }

 private:
  net::LoopActivity loop_;
};

}  // namespace wharf::dispatch
