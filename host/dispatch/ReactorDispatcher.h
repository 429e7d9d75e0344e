// Internal. `mode = reactor`: one event-loop thread serves every session of
// the listener on non-blocking sockets; event-style plugins only. A datagram
// is served on the loop as it arrives.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "dispatch/DispatchMode.h"
#include "dispatch/HandoverRound.h"
#include "dispatch/MigrationRound.h"
#include "listener/LogThrottle.h"
#include "net/EventLoop.h"
#include "net/OneShotTimer.h"
#include "session/ReactorSession.h"

namespace wharf::dispatch {

class ReactorDispatcher : public Dispatcher, private net::IoHandler {
 public:
  explicit ReactorDispatcher(const DispatchContext &context);
  ~ReactorDispatcher() override;

  void start() override;
  void stopAccepting() override;
  void drain() override;
  void migrateSessions(std::optional<std::chrono::milliseconds> timeout) override;
  bool handOverSessions(std::shared_ptr<HandoverLink> link, pid_t to,
                        std::chrono::milliseconds timeout) override;
  void handOverAnswered(Poco::JSON::Object::Ptr answer) override;
  bool adoptSession(Poco::JSON::Object::Ptr package, net::FileDescriptor &connection,
                    std::shared_ptr<HandoverLink> link) override;

 private:
  class Connection;
  class HeaderWait;

  void run() noexcept;
  void onEvents(uint32_t events) override;  // the listening socket
  // Each takes one session off the socket; false when there was none.
  bool acceptConnection();
  void admitConnection(net::FileDescriptor socket, const net::SocketAddress &peer);
  // Some of a connection's PROXY header came: admit it once all has.
  void readHeader(HeaderWait *wait);
  // Unwatches and forgets `wait`; its socket (closed unless kept).
  net::FileDescriptor dropHeaderWait(HeaderWait *wait);
  bool receiveDatagram();
  void pauseAccepting(std::chrono::nanoseconds pause);
  void resumeAccepting();
  // Every tick: slow PROXY headers, idle and stalled peers, the output budget.
  void checkSessions();
  void closeSlowPeers(std::chrono::steady_clock::time_point now);
  void cutBiggestOverBudget(std::chrono::steady_clock::time_point now);
  void remove(Connection *connection);
  // migrate = on: a reload's round of moving sessions onto the current
  // generation begins (ending the round before it), goes on each tick while
  // some are busy, and ends when none is left to try or at its deadline.
  void beginMigration(std::chrono::milliseconds timeout);
  void continueMigration(std::chrono::steady_clock::time_point now);
  // `superseded`: by a newer reload, which tries the sessions not moved yet.
  void finishMigration(bool superseded);
  // THREAD: any. `task` runs on the loop at its next turn.
  void post(std::function<void()> task);
  void runPosted();
  // Live migration to another worker (this one retiring): a round begins,
  // sends each quiescent session (tried again each tick while some are
  // busy), takes the answers, and ends when none is left to send or wait
  // for, or at its deadline with none waiting.
  void continueHandOver(std::chrono::steady_clock::time_point now);
  void settleHandOver(const Poco::JSON::Object *answer);  // null: the link has gone
  void finishHandOver();
  // The other end: a session sent by a retiring worker, on `connection`.
  void adoptHandedOver(const Poco::JSON::Object &package, net::FileDescriptor connection,
                       HandoverLink &link);

  DispatchContext context_;
  net::EventLoop loop_;
  std::vector<uint8_t> buffer_;
  std::map<Connection *, std::unique_ptr<Connection>> connections_;
  std::map<HeaderWait *, std::unique_ptr<HeaderWait>> headerWaits_;  // proxy_protocol
  std::atomic<bool> stopAccepting_ = false;
  std::atomic<bool> running_ = false;  // started: posted tasks run
  bool listening_ = false;
  bool acceptPaused_ = false;  // unwatched until resumeTimer_ (accept_rate, no descriptors)
  net::OneShotTimer resumeTimer_;
  listener::LogThrottle budgetLog_{1};  // output_budget cuts, once a second at most
  // A reload's migrate_timeout in ms; 0: nothing asked; kEndMigration: migrate = off.
  std::atomic<int64_t> migrationAsked_{0};
  std::optional<MigrationRound> migration_;
  std::optional<HandoverRound> handover_;
  // Sent, waiting for the answer, by id: the session, frozen since.
  std::map<uint64_t, std::pair<Connection *, std::chrono::steady_clock::time_point>> handedOut_;
  std::mutex postedMutex_;
  std::vector<std::function<void()>> posted_;  // under postedMutex_
  std::thread thread_;
};

}  // namespace wharf::dispatch
