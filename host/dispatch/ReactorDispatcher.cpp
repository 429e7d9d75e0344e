#include "dispatch/ReactorDispatcher.h"

#include <Poco/Logger.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "dispatch/HandoverPackage.h"
#include "dispatch/Intake.h"
#include "dispatch/ProxyGate.h"
#include "session/FailureLog.h"
#include "session/LiveSessions.h"
#include "session/SessionRunner.h"

namespace wharf::dispatch {
namespace {

constexpr size_t kReadBuffer = 64 * 1024;
constexpr int kAcceptsPerEvent = 64;
constexpr auto kTick = std::chrono::milliseconds(250);
// Sessions handed to another worker and not yet answered: a round goes in
// batches, so no loop turn exports a thousand sessions (the others' pause)
// and a moved session waits only for its batch's answers.
constexpr size_t kHandOutsInFlight = 16;
// A peer that has taken none of its output for this long has stopped reading
// (output_budget cuts only such peers). Long enough that a reader starved of
// CPU for a moment (a busy machine) is not taken for one: at 1 s, a slow
// reader was cut now and then under load; the peers that never read are cut
// a few seconds later, their buffers bounded by output_high_water meanwhile.
constexpr auto kStoppedReading = std::chrono::seconds(5);
// Out of descriptors or memory: wait this long for sessions to free some.
constexpr auto kShortagePause = std::chrono::milliseconds(50);
// migrationAsked_ when a reload without migrate = on ends the round going on.
constexpr int64_t kEndMigration = -1;
// Workers share the listening socket: one connection wakes one of them.
constexpr uint32_t kListeningEvents = EPOLLIN | EPOLLEXCLUSIVE;

// Takes `raw` out of `owners` and hands it to `loop`, which destroys it once
// the batch that may still name it is done.
template <typename Handler>
void deferErase(net::EventLoop &loop, std::map<Handler *, std::unique_ptr<Handler>> &owners,
                Handler *raw) {
  auto entry = owners.find(raw);
  std::unique_ptr<Handler> owned = std::move(entry->second);
  owners.erase(entry);
  loop.deferDelete(std::move(owned));
}

}  // namespace

// One session on the loop, with its admission ticket, the plugin generation
// it pinned and its registration. Members are destroyed in reverse:
// unregistered, then the session closes (on_session_close, socket), then the
// generation is released (unloaded if it was the last session of a retired
// one), then its admission place. Once retired (remove()), it is unwatched
// and waits for the end of the loop's batch to be destroyed; events of that
// batch that still name it are ignored.
class ReactorDispatcher::Connection final : public net::IoHandler, public net::Deferred {
 public:
  Connection(ReactorDispatcher &owner, listener::Admission::Ticket ticket,
             listener::GenerationPtr generation, net::FileDescriptor socket,
             const net::SocketAddress &peer)
      : owner_(owner),
        ticket_(std::move(ticket)),
        generation_(std::move(generation)),
        session_(generation_->instance(), std::move(socket), peer,
                 owner.context_.config.reactor.outputHighWater,
                 owner.context_.ledger(generation_->number()), owner.context_.tlsContext()),
        registered_(std::in_place, generation_->live(), session_) {}

  // Unwatches every descriptor of the session: no later batch names it.
  void retire() {
    retired_ = true;
    owner_.loop_.unwatch(session_.fd());
    for (int fd : agendaWatched_)
      if (fd >= 0) owner_.loop_.unwatch(fd);
  }

  bool open() {
    if (!session_.open()) return false;
    events_ = session_.wantedEvents();
    owner_.loop_.watch(session_.fd(), events_, this);
    watchAgenda();
    return true;
  }

  void onEvents(uint32_t events) override {
    if (retired_) return;  // ended earlier in this batch
    session_.onReady(events, owner_.buffer_.data(), owner_.buffer_.size());
    settle();  // may retire this
  }

  session::ReactorSession &session() { return session_; }
  int fd() const { return session_.fd(); }

  // Live migration to another worker. Exported, the session is off the
  // loop (unwatched, frozen) until the answer: leave() or stay(). One that
  // stays or was refused is not offered again.
  session::ReactorSession::HandOut handOut(std::vector<uint8_t> &state) {
    using HandOut = session::ReactorSession::HandOut;
    HandOut outcome = session_.handOut(state);
    if (outcome == HandOut::Exported) {
      owner_.loop_.unwatch(session_.fd());
      for (int &fd : agendaWatched_)
        if (fd >= 0) owner_.loop_.unwatch(std::exchange(fd, -1));
      handingOut_ = true;
    } else if (outcome != HandOut::Busy) {
      handOutTried_ = true;
    }
    return outcome;
  }
  bool awaitsHandOut() const { return !handingOut_ && !handOutTried_; }
  bool handingOut() const { return handingOut_; }
  void leave() {
    session_.leave();
    owner_.remove(this);
  }
  void stay() {
    session_.thaw();
    handingOut_ = false;
    handOutTried_ = true;
    owner_.loop_.watch(session_.fd(), events_, this);
    watchAgenda();
  }
  // The other end: made from a retiring worker's export instead of open();
  // false if refused (it then ends unrecorded). Served only by serve(),
  // once the answer has gone: until then the other worker may take it back.
  bool adopt(const std::string &fromVersion, const std::vector<uint8_t> &state) {
    return session_.adopt(fromVersion, state);
  }
  void serve() {
    events_ = session_.wantedEvents();
    owner_.loop_.watch(session_.fd(), events_, this);
    watchAgenda();
    settle();  // the new code may have closed it at once
  }
  // The answer could not go: the retiring worker serves it on; this copy
  // ends unserved and unrecorded (its new state freed, the connection only closed).
  void abandon() { session_.handOff(); }
  const listener::GenerationPtr &generation() const { return generation_; }
  // Whether a round of migration to `target` is still to move this session:
  // it is on an older generation, and that round has not refused it.
  // One handed to another worker (frozen, waiting for its answer) is not.
  bool awaitsMoveTo(const listener::Generation &target) const {
    return !handingOut_ && generation_->number() < target.number() && refusedBy_ != target.number();
  }

  // Live migration onto `target`, if the session is quiescent now. Moved, it
  // pins `target` and lets its old generation go (unloaded here if it held
  // its last session).
  session::ReactorSession::Migration migrateTo(const listener::GenerationPtr &target) {
    using Migration = session::ReactorSession::Migration;
    if (!session_.quiescent()) return Migration::Busy;
    // An idle agenda's mailbox goes with the move: unwatched first, as a new
    // one may get the same descriptor number.
    if (agendaWatched_[1] >= 0) owner_.loop_.unwatch(std::exchange(agendaWatched_[1], -1));
    Migration outcome = session_.migrateTo(target->instance(), target->number());
    if (outcome == Migration::Moved) {
      registered_.reset();
      registered_.emplace(target->live(), session_);
      generation_ = target;
    } else if (outcome != Migration::Busy) {
      refusedBy_ = target->number();
    }
    settle();  // may retire this (the new code closed it)
    return outcome;
  }

 private:
  // The session's timer and mailbox descriptors, once it has them.
  class AgendaWatch final : public net::IoHandler {
   public:
    explicit AgendaWatch(Connection &connection) : connection_(connection) {}
    void onEvents(uint32_t) override {
      if (connection_.retired_) return;  // ended earlier in this batch
      connection_.session_.runAgenda();
      connection_.settle();  // may retire the connection
    }

   private:
    Connection &connection_;
  };

  // After a hook ran: the session ends, or waits for what it wants now.
  void settle() {
    if (session_.finished()) return owner_.remove(this);  // retires this
    uint32_t wanted = session_.wantedEvents();
    if (wanted != events_) owner_.loop_.modify(session_.fd(), events_ = wanted, this);
    watchAgenda();
  }

  void watchAgenda() {
    const session::Agenda &agenda = *session_.agenda();
    int fds[2] = {agenda.timerFd(), agenda.mailFd()};
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0 || agendaWatched_[i] == fds[i]) continue;
      owner_.loop_.watch(fds[i], EPOLLIN, &agendaWatch_);
      agendaWatched_[i] = fds[i];
    }
  }

  ReactorDispatcher &owner_;
  listener::Admission::Ticket ticket_;
  listener::GenerationPtr generation_;
  session::ReactorSession session_;
  std::optional<session::LiveSessions::Entry> registered_;  // in its generation's
  uint32_t events_ = 0;
  uint64_t refusedBy_ = 0;
  AgendaWatch agendaWatch_{*this};
  int agendaWatched_[2] = {-1, -1};  // the timer's and the mailbox's descriptors, once watched
  bool retired_ = false;
  bool handingOut_ = false;    // sent to another worker, waiting for its answer
  bool handOutTried_ = false;  // stays here: refused, or not movable
};

// A connection not yet admitted: its PROXY header has not all come.
class ReactorDispatcher::HeaderWait final : public net::IoHandler, public net::Deferred {
 public:
  HeaderWait(ReactorDispatcher &owner, net::FileDescriptor socket, const net::SocketAddress &peer)
      : owner_(owner),
        socket_(std::move(socket)),
        peer_(peer),
        deadline_(std::chrono::steady_clock::now() + owner.context_.config.proxy.timeout) {}

  void onEvents(uint32_t) override {
    if (socket_.valid()) owner_.readHeader(this);  // else dropped earlier in this batch
  }

  int fd() const { return socket_.fd(); }
  net::FileDescriptor takeSocket() { return std::move(socket_); }
  net::SocketAddress &peer() { return peer_; }
  std::vector<uint8_t> &received() { return received_; }
  bool expired(std::chrono::steady_clock::time_point now) const { return now >= deadline_; }

 private:
  ReactorDispatcher &owner_;
  net::FileDescriptor socket_;
  net::SocketAddress peer_;
  std::vector<uint8_t> received_;  // what came of the header already
  std::chrono::steady_clock::time_point deadline_;
};

ReactorDispatcher::ReactorDispatcher(const DispatchContext &context)
    : context_(context),
      buffer_(std::max(kReadBuffer, context.config.limits.maxDatagram)),
      resumeTimer_(loop_, [this] { resumeAccepting(); }) {
  loop_.setName("[" + context.config.section() + "] reactor loop");
}

ReactorDispatcher::~ReactorDispatcher() {
  stopAccepting();
  if (thread_.joinable()) thread_.join();
  runPosted();  // sessions offered after the loop ended are answered: refused
}

void ReactorDispatcher::start() {
  loop_.observeBatches(
      [this](std::chrono::nanoseconds held) { context_.traffic.addLoopLag(held); });
  loop_.watch(context_.socket.fd(), kListeningEvents, this);
  listening_ = true;
  running_ = true;  // before the loop can end (and say it has)
  thread_ = std::thread([this] { run(); });
}

void ReactorDispatcher::stopAccepting() {
  stopAccepting_ = true;
  loop_.wake();
}

void ReactorDispatcher::migrateSessions(std::optional<std::chrono::milliseconds> timeout) {
  migrationAsked_.store(timeout ? std::max<int64_t>(timeout->count(), 1) : kEndMigration);
  loop_.wake();
}

void ReactorDispatcher::drain() {
  if (thread_.joinable()) thread_.join();
}

void ReactorDispatcher::run() noexcept {
  auto keepGoing = [this] {
    runPosted();
    if (int64_t timeout = migrationAsked_.exchange(0); timeout > 0)
      beginMigration(std::chrono::milliseconds(timeout));
    else if (timeout == kEndMigration && migration_)
      finishMigration(true);
    if (stopAccepting_ && listening_) {
      loop_.unwatch(context_.socket.fd());
      listening_ = false;
      while (!headerWaits_.empty()) dropHeaderWait(headerWaits_.begin()->first);
    }
    return listening_ || !connections_.empty();
  };
  for (;;) {
    try {
      loop_.run(keepGoing, kTick, [this] { checkSessions(); });
      // Nothing more is taken over here, and a round still open (its last
      // busy session ended on its own) is logged and lets its link go.
      running_ = false;
      if (handover_) finishHandOver();
      return;
    } catch (const std::exception &error) {  // out of memory: the loop goes on
      session::logFailure(context_.logger, "event loop: ", error.what());
    }
  }
}

void ReactorDispatcher::onEvents(uint32_t) {
  // Stopping, a stream listener still takes the connection that woke it: with
  // EPOLLEXCLUSIVE no other worker was woken for it, and one handed over
  // (reload, upgrade) would wait in the queue for the next connection's
  // wake-up. A socket shut down (wharfd stopping) accepts nothing (EINVAL).
  // A datagram socket shut down would read as empty datagrams: left alone.
  if (stopAccepting_ && !context_.streams()) return;
  for (int i = 0; i < kAcceptsPerEvent; ++i) {
    if (auto pause = context_.admission.acceptPause(); pause.count() > 0)
      return pauseAccepting(pause);  // accept_rate
    if (!(context_.streams() ? acceptConnection() : receiveDatagram())) return;
  }
}

bool ReactorDispatcher::acceptConnection() {
  auto [socket, peer, resourceShortage] = acceptOne(context_, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (!socket.valid()) {
    if (resourceShortage) pauseAccepting(kShortagePause);
    return false;
  }
  if (!context_.config.proxy.enabled()) {
    admitConnection(std::move(socket), peer);
    return true;
  }
  if (!proxyTrusted(context_, peer)) return true;  // closed at once
  // A balancer sends the header at once: usually it is there already.
  net::SocketAddress client = peer;
  std::vector<uint8_t> received;
  switch (readProxyHeader(context_, socket.fd(), received, client)) {
    case HeaderRead::Done:
      admitConnection(std::move(socket), client);
      return true;
    case HeaderRead::Refused:
      return true;
    case HeaderRead::Waiting:
      break;
  }
  auto wait = std::make_unique<HeaderWait>(*this, std::move(socket), peer);
  wait->received() = std::move(received);
  HeaderWait *raw = wait.get();
  headerWaits_.emplace(raw, std::move(wait));
  loop_.watch(raw->fd(), EPOLLIN | EPOLLRDHUP, raw);
  return true;
}

void ReactorDispatcher::admitConnection(net::FileDescriptor socket,
                                        const net::SocketAddress &peer) {
  auto ticket = admitPeer(context_, peer);
  if (!ticket) return;
  // send_timeout for the output the kernel holds too: a peer that keeps its
  // window shut that long (it never reads) is aborted by the kernel, though
  // nothing waits in wharfd (closeSlowPeers sees only that).
  auto send = context_.config.reactor.sendTimeout;
  if (send.count() > 0 && context_.config.endpoint.transport == net::Transport::Tcp) {
    auto milliseconds = static_cast<unsigned>(send.count());
    ::setsockopt(socket.fd(), IPPROTO_TCP, TCP_USER_TIMEOUT, &milliseconds, sizeof milliseconds);
  }
  auto connection = std::make_unique<Connection>(
      *this, std::move(*ticket), context_.generations.current(), std::move(socket), peer);
  Connection *raw = connection.get();
  connections_.emplace(raw, std::move(connection));
  if (!raw->open()) remove(raw);
}

void ReactorDispatcher::readHeader(HeaderWait *wait) {
  HeaderRead read = readProxyHeader(context_, wait->fd(), wait->received(), wait->peer());
  if (read == HeaderRead::Waiting) return;
  net::SocketAddress peer = wait->peer();
  net::FileDescriptor socket = dropHeaderWait(wait);
  if (read == HeaderRead::Done) admitConnection(std::move(socket), peer);
}

net::FileDescriptor ReactorDispatcher::dropHeaderWait(HeaderWait *wait) {
  loop_.unwatch(wait->fd());
  net::FileDescriptor socket = wait->takeSocket();
  deferErase(loop_, headerWaits_, wait);
  return socket;
}

bool ReactorDispatcher::receiveDatagram() {
  net::SocketAddress peer;
  ssize_t got = ::recvfrom(context_.socket.fd(), buffer_.data(), context_.config.limits.maxDatagram,
                           MSG_TRUNC, peer.get(), peer.lengthPointer());
  if (got < 0) return false;
  if (!datagramFits(context_, static_cast<size_t>(got), peer)) return true;
  auto ticket = admitPeer(context_, peer);
  if (!ticket) return true;
  listener::GenerationPtr generation = context_.generations.current();
  session::runDatagramSession(generation->instance(), session::Style::Event, context_.socket.fd(),
                              peer,
                              std::span<const uint8_t>(buffer_.data(), static_cast<size_t>(got)),
                              context_.ledger(generation->number()));
  return true;
}

// The listening socket stays readable while connections wait, so a pause
// unwatches it (a level-triggered loop would spin) until the timer ends it.
void ReactorDispatcher::pauseAccepting(std::chrono::nanoseconds pause) {
  if (acceptPaused_) return;
  loop_.unwatch(context_.socket.fd());
  acceptPaused_ = true;
  resumeTimer_.start(pause);
}

void ReactorDispatcher::resumeAccepting() {
  if (!acceptPaused_) return;
  acceptPaused_ = false;
  if (listening_) loop_.watch(context_.socket.fd(), kListeningEvents, this);
}

void ReactorDispatcher::checkSessions() {
  auto now = std::chrono::steady_clock::now();
  std::vector<HeaderWait *> slow;
  for (const auto &[raw, wait] : headerWaits_)
    if (wait->expired(now)) slow.push_back(raw);
  for (HeaderWait *wait : slow) dropHeaderWait(wait);
  refuseSlowHeaders(context_, slow.size());
  closeSlowPeers(now);
  cutBiggestOverBudget(now);
  if (migration_) continueMigration(now);
  if (handover_) continueHandOver(now);
  session::OutputBudget::process().returnFreedMemory();
}

// idle_timeout: neither sent nor read for that long; send_timeout: output
// waits and the peer has taken none of it for that long. Either way, unless
// the kernel's queue for the peer moved since the last look. tls = on: a
// handshake not done within tls_handshake_timeout.
void ReactorDispatcher::closeSlowPeers(std::chrono::steady_clock::time_point now) {
  auto idle = context_.config.limits.idleTimeout;
  auto send = context_.config.reactor.sendTimeout;
  if (idle.count() == 0 && send.count() == 0 && !context_.tls) return;
  std::vector<std::pair<Connection *, session::Ending>> slow;
  for (const auto &[raw, connection] : connections_) {
    session::ReactorSession &session = connection->session();
    if (session.handshakeOverdue(now)) {
      slow.emplace_back(raw, session::Ending::TlsHandshake);
      continue;
    }
    if (connection->handingOut()) continue;  // frozen, off the loop, until the answer
    bool idled = idle.count() > 0 && session.lastTraffic() < now - idle;
    bool stalled =
        send.count() > 0 && session.pendingOutput() > 0 && session.lastSent() < now - send;
    if ((idled || stalled) && !session.peerStillReading(now))
      slow.emplace_back(raw, stalled ? session::Ending::SendTimeout : session::Ending::IdleTimeout);
  }
  for (auto [connection, ending] : slow) {
    if (ending == session::Ending::TlsHandshake)
      connection->session().endHandshake(tls::Failure::Timeout,
                                         "not finished within tls_handshake_timeout");
    else
      connection->session().endForPeer(ending);
    remove(connection);
  }
}

// Past the worker's output_budget, this loop cuts its sessions holding the
// most output that their peers have stopped reading (none taken for a
// second), biggest first, until the worker is back within it; other loops of
// the worker do the same with theirs. A peer that reads is never cut: its
// output drains.
void ReactorDispatcher::cutBiggestOverBudget(std::chrono::steady_clock::time_point now) {
  session::OutputBudget &budget = session::OutputBudget::process();
  if (!budget.exceeded()) return;
  std::vector<Connection *> holders;
  for (const auto &[raw, connection] : connections_) {
    session::ReactorSession &session = connection->session();
    if (session.pendingOutput() > 0 && session.lastSent() < now - kStoppedReading &&
        !session.peerStillReading(now))
      holders.push_back(raw);
  }
  std::sort(holders.begin(), holders.end(), [](Connection *a, Connection *b) {
    return a->session().pendingOutput() > b->session().pendingOutput();
  });
  size_t cut = 0, freed = 0;
  for (Connection *connection : holders) {
    if (!budget.exceeded()) break;
    freed += connection->session().pendingOutput();
    connection->session().endForPeer(session::Ending::OverBudget);
    remove(connection);
    ++cut;
  }
  if (cut == 0) return;
  if (std::optional<uint64_t> leftOut = budgetLog_.admit())
    context_.logger.warning("output_budget: cut " + std::to_string(cut) + " sessions holding " +
                            std::to_string(freed) + " bytes for peers that do not read; the " +
                            "worker holds " + std::to_string(budget.held()) + " of " +
                            std::to_string(budget.limit()) +
                            listener::leftOutNote(*leftOut, "such cuts"));
}

void ReactorDispatcher::beginMigration(std::chrono::milliseconds timeout) {
  if (migration_) finishMigration(true);
  auto now = std::chrono::steady_clock::now();
  migration_.emplace(context_.generations.current(), now + timeout);
  continueMigration(now);
}

void ReactorDispatcher::continueMigration(std::chrono::steady_clock::time_point now) {
  const listener::GenerationPtr target = migration_->target();
  // A reload since (its ask not yet taken): the newer round decides.
  if (context_.generations.current() != target) return finishMigration(true);
  std::vector<Connection *> older;
  for (const auto &[raw, connection] : connections_)
    if (connection->awaitsMoveTo(*target)) older.push_back(raw);
  bool busy = false;
  for (Connection *connection : older) {
    listener::GenerationPtr from = connection->generation();
    auto outcome = connection->migrateTo(target);  // may retire it
    busy = busy || outcome == session::ReactorSession::Migration::Busy;
    if (outcome == session::Migration::NotCarried)
      migration_->notCarried(from->instance().hooks().session_export == nullptr
                                 ? from->describe() + " has no session_export"
                                 : target->describe() + " has no session_import");
    else
      migration_->count(outcome);
  }
  migration_->noteTurn(std::chrono::steady_clock::now() - now);
  if (!busy || migration_->overdue(now)) finishMigration(false);
}

void ReactorDispatcher::finishMigration(bool superseded) {
  const listener::GenerationPtr &target = migration_->target();
  size_t left = 0;
  for (const auto &[raw, connection] : connections_)
    if (connection->awaitsMoveTo(*target)) ++left;
  context_.logger.notice(migration_->finish(left, superseded, context_.traffic));
  migration_.reset();
}

void ReactorDispatcher::post(std::function<void()> task) {
  {
    std::lock_guard lock(postedMutex_);
    posted_.push_back(std::move(task));
  }
  loop_.wake();
}

void ReactorDispatcher::runPosted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(postedMutex_);
    tasks.swap(posted_);
  }
  for (auto &task : tasks) {
    try {
      task();
    } catch (const std::exception &error) {  // out of memory or descriptors: the others still run
      session::logFailure(context_.logger, "event loop: ", error.what());
    }
  }
}

bool ReactorDispatcher::handOverSessions(std::shared_ptr<HandoverLink> link, pid_t to,
                                         std::chrono::milliseconds timeout) {
  if (!context_.streams() || !context_.config.migration.enabled) return false;
  post([this, link = std::move(link), to, timeout] {
    if (migration_) finishMigration(true);  // the sessions go to the other worker's code
    auto now = std::chrono::steady_clock::now();
    handover_.emplace(link, to, now + timeout);
    continueHandOver(now);
  });
  return true;
}

void ReactorDispatcher::continueHandOver(std::chrono::steady_clock::time_point now) {
  bool busy = false;
  if (handover_->link()) {
    std::vector<Connection *> candidates;
    for (const auto &[raw, connection] : connections_)
      if (connection->awaitsHandOut()) candidates.push_back(raw);
    using HandOut = session::ReactorSession::HandOut;
    std::vector<uint8_t> state;
    std::vector<HandoverLink::Outgoing> batch;
    for (Connection *connection : candidates) {
      if (handedOut_.size() >= kHandOutsInFlight) break;  // the rest once these are answered
      switch (connection->handOut(state)) {
        case HandOut::Busy:
          busy = true;
          break;
        case HandOut::Stays:
          handover_->stays();
          break;
        case HandOut::Refused:
          handover_->refused("by session_export");
          break;
        case HandOut::Exported: {
          if (state.size() > kMaxStateToSend) {
            connection->stay();
            handover_->refused("its state is over 256 KiB, too big to send");
            break;
          }
          net::FileDescriptor copy(::fcntl(connection->fd(), F_DUPFD_CLOEXEC, 0));
          if (!copy.valid()) {  // out of descriptors: it stays
            connection->stay();
            handover_->refused("no descriptor to send it with");
            break;
          }
          // Its pause begins now, not with the turn: the turn may have waited
          // for the core before this session stopped being served.
          auto frozenSince = std::chrono::steady_clock::now();
          uint64_t id = handover_->nextId();
          Poco::JSON::Object::Ptr package = packSession(
              context_.config.name, id, connection->session(), "event", state, frozenSince);
          handedOut_[id] = {connection, frozenSince};
          batch.push_back({package, std::move(copy)});
          break;
        }
      }
    }
    handover_->link()->send(std::move(batch));
  }
  if (handedOut_.empty() && (!busy || handover_->overdue(now) || !handover_->link()))
    finishHandOver();
}

void ReactorDispatcher::handOverAnswered(Poco::JSON::Object::Ptr answer) {
  post([this, answer] { settleHandOver(answer.get()); });
}

void ReactorDispatcher::settleHandOver(const Poco::JSON::Object *answer) {
  if (!handover_) return;
  if (answer == nullptr) {  // the link has gone: what it took stays here
    for (auto [id, sent] : std::exchange(handedOut_, {})) {
      Connection *connection = sent.first;
      connection->stay();
      handover_->refused("the new worker has gone");
    }
    handover_->linkGone();
  } else {
    auto sent = handedOut_.find(answer->optValue<uint64_t>("id", 0));
    if (sent == handedOut_.end()) return;
    auto [connection, frozenSince] = sent->second;
    handedOut_.erase(sent);
    if (answer->optValue<std::string>("outcome", "") == "moved") {
      connection->leave();  // retires it
      handover_->moved(pauseReported(*answer, std::chrono::steady_clock::now() - frozenSince));
    } else {
      connection->stay();
      handover_->refused(answer->optValue<std::string>("why", "by the new worker"));
    }
  }
  // The last answer: the round may end (busy ones wait for the tick). Not at
  // each answer: that would walk every session once per session.
  if (handedOut_.empty()) continueHandOver(std::chrono::steady_clock::now());
}

void ReactorDispatcher::finishHandOver() {
  size_t left = 0;
  for (const auto &[raw, connection] : connections_) {
    if (!connection->awaitsHandOut()) continue;
    if (handover_->link())
      ++left;
    else  // not offered yet when it went: they stay for the same reason as those it held
      handover_->refused("the new worker has gone");
  }
  context_.logger.notice(handover_->finish(left, context_.traffic));
  handover_.reset();
}

bool ReactorDispatcher::adoptSession(Poco::JSON::Object::Ptr package,
                                     net::FileDescriptor &connection,
                                     std::shared_ptr<HandoverLink> link) {
  // A listener paused after a crash has no loop turning yet: the session
  // would wait, frozen, for as long.
  if (!context_.streams() || !context_.config.migration.enabled || !running_) return false;
  auto socket = std::make_shared<net::FileDescriptor>(std::move(connection));
  post([this, package, socket, link] { adoptHandedOver(*package, std::move(*socket), *link); });
  return true;
}

void ReactorDispatcher::adoptHandedOver(const Poco::JSON::Object &package,
                                        net::FileDescriptor socket, HandoverLink &link) {
  uint64_t id = package.optValue<uint64_t>("id", 0);
  auto refuse = [&](const std::string &why) {
    link.send(refusedAnswer(context_.config.name, id, why));
  };  // `socket` is closed, never shut down: the connection stays the old worker's
  std::string why;
  std::optional<HandedOver> handed =
      admitHandedOver(context_, package, socket, stopAccepting_, "event", why);
  if (!handed) return refuse(why);
  UnpackedSession &unpacked = handed->session;
  auto adopted =
      std::make_unique<Connection>(*this, std::move(handed->ticket), context_.generations.current(),
                                   std::move(socket), unpacked.peer);
  Connection *raw = adopted.get();
  connections_.emplace(raw, std::move(adopted));
  session::ReactorSession &session = raw->session();
  session.carryOver(unpacked.bytes, unpacked.started);
  if (!raw->adopt(unpacked.fromVersion,
                  std::vector<uint8_t>(unpacked.state.begin(), unpacked.state.end()))) {
    remove(raw);
    return refuse("refused by session_import");
  }
  Poco::JSON::Object::Ptr answer = movedAnswer(context_.config.name, id, unpacked.frozenSince);
  // Served only once the answer is in the other end's buffer: were this
  // worker to die after reading the client, the other would otherwise serve
  // the session on from the state it exported, and the client would hear both.
  if (!link.sendNow(*answer)) {
    raw->abandon();
    remove(raw);
    return;
  }
  raw->serve();
}

void ReactorDispatcher::remove(Connection *connection) {
  connection->retire();
  deferErase(loop_, connections_, connection);
}

}  // namespace wharf::dispatch
