#include "session/ReactorSession.h"

#include <Poco/Message.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

namespace wharf::session {
namespace {

// Reads per readiness event before yielding to other sessions.
constexpr int kReadsPerEvent = 4;
// session_export: the buffer offered first, and the most a session's state may take.
constexpr size_t kFirstExport = 4096;
constexpr size_t kMaxExport = 1 << 20;

}  // namespace

ReactorSession::ReactorSession(plugin::PluginInstance &instance, net::FileDescriptor connection,
                               const net::SocketAddress &peer, size_t outputHighWater,
                               const Ledger &ledger, std::shared_ptr<const tls::ServerContext> tls)
    : Session(instance, peer, ledger),
      connection_(std::move(connection)),
      outputHighWater_(outputHighWater),
      lastTraffic_(std::chrono::steady_clock::now()),
      lastSent_(lastTraffic_),
      sendProgress_(connection_.fd()) {
  if (!tls) return;
  handshakeDeadline_ = lastTraffic_ + tls->handshakeTimeout();
  tls_ = std::make_unique<tls::TlsStream>(std::move(tls), connection_.fd());
}

ReactorSession::~ReactorSession() {
  // No timer fires, no post runs, from here on; timers' `release` and posts'
  // `dropped` run now.
  runFinalHook("closing its timers and posts", [&] { agenda_.close(); });
  const wharf_plugin &hooks = instance().hooks();
  if (opened_ && hooks.on_session_close != nullptr)
    runFinalHook("on_session_close",
                 [&] { hooks.on_session_close(instance().state(), state_, handle()); });
  if (tls_) tls_->close();
}

bool ReactorSession::open() {
  if (handshaking()) {
    continueHandshake();
    return !finished_;
  }
  const wharf_plugin &hooks = instance().hooks();
  if (hooks.on_session_open != nullptr && !runHook("on_session_open", [&] {
        return hooks.on_session_open(instance().state(), handle(), &state_);
      }))
    return false;
  opened_ = true;
  finishIfDone();
  return !finished_;
}

void ReactorSession::continueHandshake() {
  switch (tls_->handshake()) {
    case tls::TlsStream::Handshake::Waiting:
      return;
    case tls::TlsStream::Handshake::Failed:
      return endHandshake(tls_->failureKind(), tls_->failure());
    case tls::TlsStream::Handshake::Done:
      noteTlsHandshake(tls_->version(), tls_->resumed());
      lastTraffic_ = lastSent_ = std::chrono::steady_clock::now();
      open();
      return;
  }
}

bool ReactorSession::handshakeOverdue(std::chrono::steady_clock::time_point now) const {
  return handshaking() && now >= handshakeDeadline_;
}

void ReactorSession::endHandshake(tls::Failure failure, const std::string &why) {
  noteTlsFailure(failure, why);
  finished_ = true;
}

uint32_t ReactorSession::wantedEvents() const {
  if (handshaking()) return static_cast<uint32_t>(tls_->handshakeWaitsFor()) | EPOLLRDHUP;
  bool owesWritable = writableOwed_ && hasWritableHook();
  uint32_t events = pendingOutput() > 0 || owesWritable ? static_cast<uint32_t>(EPOLLOUT) : 0u;
  if (wantsInput()) events |= EPOLLIN | EPOLLRDHUP;
  // A TLS read may have to write first (a key update's answer).
  if (tls_ && wantsInput() && tls_->readWaitsToWrite()) events |= EPOLLOUT;
  return events;
}

bool ReactorSession::hasWritableHook() const {
  return instance().hooks().on_session_writable != nullptr;
}

bool ReactorSession::wantsInput() const {
  return !paused_ && !peerClosed_ && !closeRequested() && pendingOutput() < outputHighWater_;
}

wharf_status ReactorSession::pauseInput(bool paused) {
  if (frozen()) return WHARF_UNSUPPORTED;
  if (paused == paused_) return WHARF_INVALID;
  paused_ = paused;
  return WHARF_OK;
}

void ReactorSession::runAgenda() {
  if (finished_) return;
  runHook("a timer or posted callback",
          [&] { return agenda_.runDue(instance().state(), state_, handle()); });
  finishIfDone();
}

void ReactorSession::onReady(uint32_t events, uint8_t *buffer, size_t capacity) {
  if (events & EPOLLERR) {
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(connection_.fd(), SOL_SOCKET, SO_ERROR, &error, &length);
    endByPeer(error);
    return;
  }
  if (handshaking()) {
    if (events & (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP)) continueHandshake();
    return;
  }
  if (tls_ && tls_->readWaitsToWrite() && (events & EPOLLOUT)) events |= EPOLLIN;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) receive(buffer, capacity);
  if (!finished_ && (events & EPOLLOUT)) flush();
  finishIfDone();
}

void ReactorSession::receive(uint8_t *buffer, size_t capacity) {
  const wharf_plugin &hooks = instance().hooks();
  for (int reads = 0; reads < kReadsPerEvent && !finished_ && wantsInput(); ++reads) {
    ssize_t got = receiveSome(buffer, capacity);
    if (got > 0) {
      countIn(static_cast<size_t>(got));
      lastTraffic_ = std::chrono::steady_clock::now();
      runHook("on_session_data", [&] {
        return hooks.on_session_data(instance().state(), state_, handle(), buffer,
                                     static_cast<size_t>(got));
      });
      if (static_cast<size_t>(got) < capacity && !(tls_ && tls_->pending()))
        return;  // drained for now
      continue;
    }
    if (got == 0) {
      noteEnding(Ending::Client);
      peerClosed_ = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      endByPeer(errno);
    }
    return;
  }
}

wharf_status ReactorSession::write(const void *data, size_t len) {
  if (frozen()) return WHARF_UNSUPPORTED;  // exporting or freeing a migrated state
  if (closeRequested() || finished_) return WHARF_CLOSED;
  const char *bytes = static_cast<const char *>(data);
  // An import's writes wait in the queue until the session is the newer
  // code's: refused, or unanswered across workers, the client must not have
  // heard them.
  if (pendingOutput() == 0 && !importing()) {
    ssize_t sent = sendSome(bytes, len);
    if (sent < 0 && errno != EAGAIN && errno != EINTR) {
      endByPeer(errno);
      return WHARF_CLOSED;
    }
    if (sent > 0) {
      countSent(static_cast<size_t>(sent));
      bytes += sent;
      len -= static_cast<size_t>(sent);
    }
  }
  // Output starts to wait: what the kernel holds now is what a later look
  // compares with, so a peer that reads nothing is seen stalled at once.
  if (pendingOutput() == 0 && len > 0) sendProgress_.advanced();
  output_.append(bytes, len);
  writableOwed_ = true;
  return WHARF_OK;
}

void ReactorSession::flush() {
  while (pendingOutput() > 0) {
    ssize_t sent = sendSome(output_.data(), pendingOutput());
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && errno == EAGAIN) return;
    if (sent <= 0) {
      endByPeer(sent < 0 ? errno : 0);
      return;
    }
    countSent(static_cast<size_t>(sent));
    output_.consume(static_cast<size_t>(sent));
  }
  if (!std::exchange(writableOwed_, false)) return;
  const wharf_plugin &hooks = instance().hooks();
  if (hooks.on_session_writable != nullptr)
    runHook("on_session_writable",
            [&] { return hooks.on_session_writable(instance().state(), state_, handle()); });
}

ssize_t ReactorSession::receiveSome(void *buffer, size_t capacity) {
  return tls_ ? tls_->read(buffer, capacity) : ::recv(connection_.fd(), buffer, capacity, 0);
}

ssize_t ReactorSession::sendSome(const void *data, size_t length) {
  return tls_ ? tls_->write(data, length) : ::send(connection_.fd(), data, length, MSG_NOSIGNAL);
}

bool ReactorSession::peerStillReading(std::chrono::steady_clock::time_point now) {
  if (!sendProgress_.advanced()) return false;
  lastTraffic_ = lastSent_ = now;
  return true;
}

void ReactorSession::endForPeer(Ending ending) {
  endSlowPeer(ending);
  output_.discard();
  finished_ = true;
}

void ReactorSession::countSent(size_t bytes) {
  countOut(bytes);
  lastTraffic_ = lastSent_ = std::chrono::steady_clock::now();
}

void ReactorSession::endByPeer(int error) {
  // ETIMEDOUT under TCP_USER_TIMEOUT (set from send_timeout): the kernel gave
  // up on output the peer never acknowledged; the peer did not just leave.
  unsigned userTimeout = 0;
  socklen_t length = sizeof userTimeout;
  if (error == ETIMEDOUT &&
      ::getsockopt(connection_.fd(), IPPROTO_TCP, TCP_USER_TIMEOUT, &userTimeout, &length) == 0 &&
      userTimeout > 0)
    endSlowPeer(Ending::SendTimeout, "the peer took none of its output the kernel held");
  else
    noteEnding(Ending::Client);
  finished_ = true;
}

void ReactorSession::finishIfDone() {
  if (pendingOutput() == 0 && (peerClosed_ || closeRequested())) finished_ = true;
}

bool ReactorSession::quiescent() {
  if (!opened_) return !finished_;  // handshaking: the plugin has no state yet
  return !finished_ && !paused_ && !peerClosed_ && !closeRequested() && pendingOutput() == 0 &&
         !(writableOwed_ && hasWritableHook()) && agenda_.idle();
}

ReactorSession::Migration ReactorSession::migrateTo(plugin::PluginInstance &next,
                                                    uint64_t nextGeneration) {
  if (!quiescent()) return Migration::Busy;
  plugin::PluginInstance &from = instance();
  uint64_t fromGeneration = generation();
  if (!opened_) {  // still in its TLS handshake: the plugin has no state yet
    moveTo(next, nextGeneration);
    return Migration::Moved;
  }
  if (from.hooks().session_export == nullptr || next.hooks().session_import == nullptr)
    return Migration::NotCarried;
  std::vector<uint8_t> state;
  if (!exportState(state)) return Migration::ExportRefused;
  agenda_.forgetMailbox();
  moveTo(next, nextGeneration);
  void *imported = nullptr;
  if (!importState(from.plugin().version(), state, imported)) {
    undoImport();
    moveTo(from, fromGeneration);
    return Migration::ImportRefused;
  }
  // The old code frees its state (under its own name in the log), the session frozen.
  void *old = std::exchange(state_, imported);
  if (from.hooks().on_session_close != nullptr) {
    moveTo(from, fromGeneration);
    setHandover(Handover::Leaving);
    runFinalHook("on_session_close",
                 [&] { from.hooks().on_session_close(from.state(), old, handle()); });
    setHandover(Handover::None);
    moveTo(next, nextGeneration);
  }
  finishIfDone();
  return Migration::Moved;
}

void ReactorSession::undoImport() {
  output_.discard();  // what the import wrote: quiescent, nothing waited before it
  agenda_.clear();
  paused_ = false;
  withdrawClose();
}

ReactorSession::HandOut ReactorSession::handOut(std::vector<uint8_t> &state) {
  if (tls_ || instance().hooks().session_export == nullptr) return HandOut::Stays;
  if (!quiescent()) return HandOut::Busy;
  if (!exportState(state)) return HandOut::Refused;
  setHandover(Handover::Exporting);  // until the other worker answers
  away_ = Away::Yes;
  return HandOut::Exported;
}

void ReactorSession::thaw() {
  setHandover(Handover::None);
  if (away_.exchange(Away::No) == Away::Cut) ::shutdown(connection_.fd(), SHUT_RDWR);
}

void ReactorSession::leave() {
  const wharf_plugin &hooks = instance().hooks();
  setHandover(Handover::Leaving);
  if (hooks.on_session_close != nullptr)
    runFinalHook("on_session_close",
                 [&] { hooks.on_session_close(instance().state(), state_, handle()); });
  opened_ = false;  // freed: the destructor's on_session_close is not for it
  state_ = nullptr;
  handOff();
  finished_ = true;
}

bool ReactorSession::adopt(const std::string &fromVersion, const std::vector<uint8_t> &state) {
  void *imported = nullptr;
  if (!importState(fromVersion, state, imported)) {
    undoImport();
    handOff();
    finished_ = true;
    return false;
  }
  state_ = imported;
  opened_ = true;
  finishIfDone();
  return true;
}

bool ReactorSession::exportState(std::vector<uint8_t> &state) {
  const wharf_plugin &hooks = instance().hooks();
  std::string escaped;
  setHandover(Handover::Exporting);  // it may not change the session: it may stay
  wharf_status status = plugin::callHook(
      instance(), "session_export", hookSite(),
      [&] {
        size_t len = 0;
        state.resize(kFirstExport);
        wharf_status exported = hooks.session_export(instance().state(), state_, handle(),
                                                     state.data(), state.size(), &len);
        if (exported == WHARF_BUFFER_TOO_SMALL && len > state.size() && len <= kMaxExport) {
          state.resize(len);
          exported = hooks.session_export(instance().state(), state_, handle(), state.data(),
                                          state.size(), &len);
        }
        if (exported == WHARF_OK && len > state.size()) exported = WHARF_INVALID;  // a lie
        state.resize(exported == WHARF_OK ? len : 0);
        return exported;
      },
      escaped);
  setHandover(Handover::None);
  if (!escaped.empty()) log(Poco::Message::PRIO_ERROR, "session_export threw: " + escaped);
  return status == WHARF_OK && escaped.empty();
}

void ReactorSession::cut(CutReason why) {
  noteCut(why);
  Away away = Away::Yes;
  if (away_.compare_exchange_strong(away, Away::Cut) || away == Away::Cut) return;
  ::shutdown(connection_.fd(), SHUT_RDWR);
}

}  // namespace wharf::session
