// Internal. The common part of the modes that run each session to its end on
// a blocking socket (sync, thread, pool): one loop thread takes a connection
// or a datagram off the listening socket, admits or refuses it, and hands the
// work that serves it to schedule(), which each mode implements.
#pragma once

#include <optional>
#include <thread>
#include <vector>

#include "dispatch/BlockingMigration.h"
#include "dispatch/DispatchMode.h"
#include "dispatch/PendingSession.h"
#include "dispatch/WaitingRoom.h"
#include "net/StopSignal.h"

namespace wharf::dispatch {

class BlockingDispatcher : public Dispatcher {
 public:
  explicit BlockingDispatcher(const DispatchContext &context);
  ~BlockingDispatcher() override;

  void start() override;
  void stopAccepting() final;
  void drain() final;
  std::chrono::milliseconds waitForData(const listener::Generation &generation) const final;
  void migrateSessions(std::optional<std::chrono::milliseconds> timeout) final {
    migration_.migrate(timeout);
  }
  bool handOverSessions(std::shared_ptr<HandoverLink> link, pid_t to,
                        std::chrono::milliseconds timeout) override;
  void handOverAnswered(Poco::JSON::Object::Ptr answer) final { migration_.answered(answer); }
  bool adoptSession(Poco::JSON::Object::Ptr package, net::FileDescriptor &connection,
                    std::shared_ptr<HandoverLink> link) override;

 protected:
  // THREAD: the loop thread (or a HandoverLink's, for a session another
  // worker handed over). Serves `session` or hands it off; false refuses it
  // (the session is closed, and counted as `refusal`).
  virtual bool schedule(PendingSessionPtr session) = 0;
  virtual listener::Refusal scheduleRefusal() const { return listener::Refusal::QueueFull; }
  // Serves a session to its end on the calling thread. Never throws.
  void serve(PendingSession &session) noexcept;
  // THREAD: main, once the loop thread has ended. Returns when no session runs.
  virtual void waitForSessions() = 0;

  const DispatchContext &context() const { return context_; }

 private:
  void loop() noexcept;
  void takeNext();
  void acceptConnection();
  // A connection's PROXY header has come, or some of it: admit it, or wait on.
  void readHeader(PendingSessionPtr session);
  void admit(PendingSessionPtr session);
  // idle_timeout, both ways, on a connection served here.
  void limitIdleTime(int fd) const;
  void receiveDatagram();
  void dispatch(PendingSessionPtr session);
  // Sessions whose peer has sent: their PROXY header read, or dispatched.
  void passOn(std::vector<PendingSessionPtr> spoke);
  // Stopping: a waiting connection whose peer has already sent its request is
  // served, not closed with it unread (a reset: a retiring worker's client
  // saw one); the silent ones close with the room.
  void serveWhoSpoke() noexcept;
  void closeSilentSessions();

  DispatchContext context_;
  BlockingMigration migration_;  // before the sessions, which it outlives
  net::StopSignal stopSignal_;
  WaitingRoom waitingRoom_;  // watches the listening socket too
  std::vector<uint8_t> datagramBuffer_;
  std::thread loopThread_;
};

}  // namespace wharf::dispatch
