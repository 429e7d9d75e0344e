// Internal. `mode = fork`: a process per session, at most `max_children` at
// once (more are refused), every child reaped. wharfd's side: it passes each
// accepted socket (or datagram) to the listener's helper process and holds
// the session's admission place until the helper reports the child's end.
// Every plugin generation, the first included, is sent to the helper, which
// loads it for the children it forks from then on; children keep the code
// they were born with.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "dispatch/BlockingDispatcher.h"
#include "net/HostDescriptor.h"

namespace wharf::dispatch {

class ForkDispatcher : public BlockingDispatcher {
 public:
  // THREAD: main, before any thread starts or plugin loads: forks the helper.
  explicit ForkDispatcher(const DispatchContext &context);
  ~ForkDispatcher() override;

  void start() override;
  void adopt(const listener::Generation &generation) override;

 protected:
  bool schedule(PendingSessionPtr session) override;
  listener::Refusal scheduleRefusal() const override { return listener::Refusal::MaxChildren; }
  void waitForSessions() override;

 private:
  class Child;

  // The helper's answer to Load `generation`: "" or why it failed. Throws if
  // none comes in time. awaitLoaded once the reports reader runs (start()),
  // readLoaded before.
  std::string awaitLoaded(uint64_t generation);
  std::string readLoaded(uint64_t generation);
  void readReports() noexcept;
  void cutChild(uint64_t id);
  // Under mutex_, before a session goes to the helper: the log files the
  // master reopened since the helper last got them (it forked with this
  // process's descriptors, and opens none itself).
  void passChangedLogFiles();
  // Under mutex_, likewise: the listener's session ticket keys, if they have
  // changed (a rotation) since the helper last got them.
  void passChangedTicketKeys();
  void stopHelper();

  const size_t maxChildren_;
  net::HostDescriptor channel_;
  pid_t helper_ = -1;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::map<uint64_t, std::unique_ptr<Child>> running_;  // by id
  std::map<uint64_t, std::string> loadResults_;         // by generation: "" or the failure
  std::condition_variable loaded_;
  bool helperGone_ = false;
  uint64_t nextId_ = 1;
  uint64_t logFilesPassed_ = 0;    // logging::fileChanges() when the helper last got them
  uint64_t ticketKeysPassed_ = 0;  // tls::TicketKeys::changes() when the helper was forked
                                   // or last got them
  std::thread reports_;
};

}  // namespace wharf::dispatch
