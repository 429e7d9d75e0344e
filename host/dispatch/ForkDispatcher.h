// Internal. `mode = fork`: a process per session, at most `max_children` at
// once (more are refused), every child reaped. wharfd's side: it passes each
// accepted socket (or datagram) to the listener's helper process and holds
// the session's admission place until the helper reports the child's end.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "dispatch/BlockingDispatcher.h"

namespace wharf::dispatch {

class ForkDispatcher : public BlockingDispatcher {
 public:
  // THREAD: main, before any thread starts: forks the helper.
  explicit ForkDispatcher(const DispatchContext &context);
  ~ForkDispatcher() override;

  void start() override;
  size_t cutHeldSessions() override;

 protected:
  bool schedule(PendingSessionPtr session) override;
  listener::Refusal scheduleRefusal() const override { return listener::Refusal::MaxChildren; }
  void waitForSessions() override;

 private:
  void readReports() noexcept;
  void stopHelper();

  const size_t maxChildren_;
  net::FileDescriptor channel_;
  pid_t helper_ = -1;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::map<uint64_t, PendingSessionPtr> running_;  // by id: their admission places
  uint64_t nextId_ = 1;
  std::thread reports_;
};

}  // namespace wharf::dispatch
