#include "session/Session.h"

#include <Poco/Message.h>

#include <map>
#include <memory>
#include <mutex>

#include "listener/LogThrottle.h"

namespace wharf::session {
namespace {

// One throttle per listener (by name), for the life of the process.
listener::LogThrottle &idleCloseThrottle(const std::string &listener) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<listener::LogThrottle>> throttles;
  std::lock_guard lock(mutex);
  auto &throttle = throttles[listener];
  if (!throttle) throttle = std::make_unique<listener::LogThrottle>(10);
  return *throttle;
}

// Never destroyed: a session may end after static destructors ran. Made at
// load time, before any thread (or fork) can find it half made.
plugin::HandleTable<Session> &handles() {
  static auto *table = new plugin::HandleTable<Session>;
  return *table;
}
[[maybe_unused]] plugin::HandleTable<Session> &madeAtLoad = handles();

}  // namespace

Session::Session(plugin::PluginInstance &instance, const net::SocketAddress &peer,
                 const Ledger &ledger)
    : instance_(&instance), peerAddress_(peer), handle_(handles(), this), ledger_(ledger) {}

Session *Session::find(const wharf_session *handle) noexcept {
  return handles().find(reinterpret_cast<uintptr_t>(handle));
}

const std::string &Session::peer() const {
  if (!peerFormatted_) {
    peerText_ = peerAddress_.toString();
    peerFormatted_ = true;
  }
  return peerText_;
}

std::optional<net::SocketAddress> Session::address(wharf_address which) const {
  switch (which) {
    case WHARF_ADDRESS_PEER:
      return peerAddress_;
    case WHARF_ADDRESS_LOCAL:
      return net::SocketAddress::localOf(carrier());
    case WHARF_ADDRESS_BALANCER:
      // Every connection such a listener admits came with a header.
      if (!instance_->proxy().enabled() || instance_->socketKind() != WHARF_SOCKET_STREAM)
        return std::nullopt;
      return net::SocketAddress::peerOf(carrier());
  }
  return std::nullopt;
}

Ending Session::ending() const {
  if (endingNoted_ && tally_.ending == Ending::Error) return Ending::Error;
  if (cut_.load(std::memory_order_acquire)) return Ending::Cut;
  return tally_.ending;
}

wharf_end_reason Session::endReason() const {
  if (handover_ == Handover::Leaving) return WHARF_END_MIGRATED;
  if (!endingNoted_ && !cut_.load(std::memory_order_acquire))
    return closeRequested_ ? WHARF_END_PLUGIN : WHARF_END_NONE;
  switch (ending()) {
    case Ending::Error:
      return WHARF_END_ERROR;
    case Ending::Cut:
      return cutWhy_.load(std::memory_order_relaxed) == CutReason::Drain ? WHARF_END_DRAIN
                                                                         : WHARF_END_SHUTDOWN;
    case Ending::Client:
      return WHARF_END_PEER;
    case Ending::IdleTimeout:
    case Ending::SendTimeout:
    case Ending::OverBudget:
      return WHARF_END_IDLE;
    default:
      return WHARF_END_PLUGIN;
  }
}

bool Session::endedByHost() const {
  wharf_end_reason reason = endReason();
  return reason == WHARF_END_IDLE || reason == WHARF_END_DRAIN || reason == WHARF_END_SHUTDOWN;
}

Session::~Session() {
  if (handedOff_) {
    ledger_.traffic.addBytes({tally_.bytesIn - counted_.in, tally_.bytesOut - counted_.out});
    return;
  }
  tally_.duration = std::chrono::steady_clock::now() - started_;
  std::string_view error = error_;
  if (std::uncaught_exceptions() > 0) {  // a session is never made while one unwinds
    tally_.ending = Ending::Error;
    if (error.empty()) error = "the host failed (logged)";
  } else {
    tally_.ending = ending();
  }
  // Only the access log needs the peer as text: formatting it costs more
  // than all the rest of a datagram's serving.
  std::string_view peerText;
  if (ledger_.accessLog != nullptr) {
    try {
      peerText = peer();
    } catch (...) {  // no memory for the peer's text: the line goes without it
    }
  }
  ledger_.record(instance_->listenerName(), peerText, tally_, error, counted_);
}

void Session::addCountedBytes() noexcept {
  nextCount_ = coarseNow() + std::chrono::seconds(1);
  ledger_.traffic.addBytes({tally_.bytesIn - counted_.in, tally_.bytesOut - counted_.out});
  counted_ = {tally_.bytesIn, tally_.bytesOut};
}

void Session::endSlowPeer(Ending ending, const char *reason) {
  noteEnding(ending);
  std::optional<uint64_t> leftOut = idleCloseThrottle(instance_->listenerName()).admit();
  if (!leftOut) return;
  const char *why =
      ending == Ending::SendTimeout ? "the peer read none of its output"
      : ending == Ending::OverBudget
          ? "the worker's output_budget is spent and this peer reads none of its output"
          : "no traffic";
  if (reason != nullptr) why = reason;
  log(Poco::Message::PRIO_NOTICE, std::string(endingName(ending)) + ": " + why + "; closing" +
                                      listener::leftOutNote(*leftOut, "idle closes"));
}

bool Session::hookSucceeded(wharf_status status, const char *hook) {
  if (status == WHARF_OK) return true;
  if (status == WHARF_ENDED && endedByHost()) {  // passed on, as it came: no failure
    onHookFailed();
    return false;
  }
  ++tally_.hookErrors;
  onHookFailed();
  std::string failure = std::string(hook) + " failed (status " + std::to_string(status) + ")";
  log(Poco::Message::PRIO_WARNING, failure + "; closing the session");
  noteError(std::move(failure));
  return false;
}

bool Session::hookThrew(const char *hook, const std::string &escaped) noexcept {
  ++tally_.hookErrors;
  onHookFailed();
  try {
    std::string failure = std::string(hook) + " failed: " + escaped;
    log(Poco::Message::PRIO_ERROR, failure + " (hooks must not throw); closing the session");
    noteError(std::move(failure));
  } catch (...) {  // no memory for the line: the session ends all the same
    tally_.ending = Ending::Error;
    endingNoted_ = true;
  }
  return false;
}

void Session::noteError(std::string message) {
  tally_.ending = Ending::Error;
  endingNoted_ = true;
  if (error_.empty()) error_ = std::move(message);
}

void Session::log(int priority, std::string_view message) const {
  Poco::Logger &logger = instance_->logger();
  if (!logger.is(priority)) return;
  std::string peer = this->peer().empty() ? "unnamed peer" : "peer " + this->peer();
  logger.log(Poco::Message(logger.name(), peer + ": " + std::string(message),
                           static_cast<Poco::Message::Priority>(priority)));
}

bool Session::importState(const std::string &fromVersion, std::span<const uint8_t> state,
                          void *&imported) {
  const plugin::PluginInstance &next = instance();
  std::string escaped;
  setHandover(Handover::Importing);
  wharf_status status = plugin::callHook(
      next, "session_import", hookSite(),
      [&] {
        return next.hooks().session_import(next.state(), handle(), fromVersion.c_str(),
                                           state.data(), state.size(), &imported);
      },
      escaped);
  setHandover(Handover::None);
  if (!escaped.empty()) log(Poco::Message::PRIO_ERROR, "session_import threw: " + escaped);
  return status == WHARF_OK && escaped.empty();
}

}  // namespace wharf::session
