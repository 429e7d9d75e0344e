#include "dispatch/ReactorDispatcher.h"

#include <Poco/Logger.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "dispatch/Intake.h"
#include "session/FailureLog.h"
#include "session/LiveSessions.h"
#include "session/SessionRunner.h"

namespace wharf::dispatch {
namespace {

constexpr size_t kReadBuffer = 64 * 1024;
constexpr int kAcceptsPerEvent = 64;
constexpr auto kTick = std::chrono::milliseconds(250);
// Out of descriptors or memory: wait this long for sessions to free some.
constexpr auto kShortagePause = std::chrono::milliseconds(50);
// Workers share the listening socket: one connection wakes one of them.
constexpr uint32_t kListeningEvents = EPOLLIN | EPOLLEXCLUSIVE;

}  // namespace

// One session on the loop, with its admission ticket, the plugin generation
// it pinned and its registration. Members are destroyed in reverse:
// unregistered, then the session closes (on_session_close, socket), then the
// generation is released (unloaded if it was the last session of a retired
// one), then its admission place.
class ReactorDispatcher::Connection : public net::IoHandler {
 public:
  Connection(ReactorDispatcher &owner, listener::Admission::Ticket ticket,
             listener::GenerationPtr generation, net::FileDescriptor socket,
             const net::SocketAddress &peer)
      : owner_(owner),
        ticket_(std::move(ticket)),
        generation_(std::move(generation)),
        session_(generation_->instance(), std::move(socket), peer,
                 owner.context_.config.reactor.outputHighWater,
                 owner.context_.ledger(*generation_)),
        registered_(generation_->live(), session_) {}

  bool open() {
    if (!session_.open()) return false;
    events_ = session_.wantedEvents();
    owner_.loop_.watch(session_.fd(), events_, this);
    return true;
  }

  void onEvents(uint32_t events) override {
    session_.onReady(events, owner_.buffer_.data(), owner_.buffer_.size());
    if (session_.finished()) return owner_.remove(this);  // deletes this
    uint32_t wanted = session_.wantedEvents();
    if (wanted != events_) owner_.loop_.modify(session_.fd(), events_ = wanted, this);
  }

  session::ReactorSession &session() { return session_; }
  int fd() const { return session_.fd(); }

 private:
  ReactorDispatcher &owner_;
  listener::Admission::Ticket ticket_;
  listener::GenerationPtr generation_;
  session::ReactorSession session_;
  session::LiveSessions::Entry registered_;
  uint32_t events_ = 0;
};

ReactorDispatcher::ReactorDispatcher(const DispatchContext &context)
    : context_(context),
      buffer_(std::max(kReadBuffer, context.config.limits.maxDatagram)),
      resumeTimer_(loop_, [this] { resumeAccepting(); }) {}

ReactorDispatcher::~ReactorDispatcher() {
  stopAccepting();
  if (thread_.joinable()) thread_.join();
}

void ReactorDispatcher::start() {
  loop_.watch(context_.socket.fd(), kListeningEvents, this);
  listening_ = true;
  thread_ = std::thread([this] { run(); });
}

void ReactorDispatcher::stopAccepting() {
  stopAccepting_ = true;
  loop_.wake();
}

void ReactorDispatcher::drain() {
  if (thread_.joinable()) thread_.join();
}

void ReactorDispatcher::run() noexcept {
  auto keepGoing = [this] {
    if (stopAccepting_ && listening_) {
      loop_.unwatch(context_.socket.fd());
      listening_ = false;
    }
    return listening_ || !connections_.empty();
  };
  for (;;) {
    try {
      loop_.run(keepGoing, kTick, [this] { closeIdleSessions(); });
      return;
    } catch (const std::exception &error) {  // out of memory: the loop goes on
      session::logFailure(context_.logger, "event loop: ", error.what());
    }
  }
}

void ReactorDispatcher::onEvents(uint32_t) {
  // A stopped stream socket stays readable (shut down) until the loop unwatches it.
  if (stopAccepting_) return;
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
  auto ticket = admitPeer(context_, peer);
  if (!ticket) return true;
  auto connection = std::make_unique<Connection>(
      *this, std::move(*ticket), context_.generations.current(), std::move(socket), peer);
  Connection *raw = connection.get();
  connections_.emplace(raw, std::move(connection));
  if (!raw->open()) remove(raw);
  return true;
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
                              context_.ledger(*generation));
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

void ReactorDispatcher::closeIdleSessions() {
  auto idle = context_.config.limits.idleTimeout;
  if (idle.count() == 0) return;
  auto oldest = std::chrono::steady_clock::now() - idle;
  std::vector<Connection *> expired;
  for (const auto &[raw, connection] : connections_)
    if (connection->session().lastInput() < oldest) expired.push_back(raw);
  for (Connection *connection : expired) {
    connection->session().endIdle();
    remove(connection);
  }
}

void ReactorDispatcher::remove(Connection *connection) {
  loop_.unwatch(connection->fd());
  connections_.erase(connection);
}

}  // namespace wharf::dispatch
