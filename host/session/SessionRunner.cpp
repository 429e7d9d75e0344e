#include "session/SessionRunner.h"

#include <Poco/Message.h>

#include <exception>
#include <optional>

#include "net/BusyLoops.h"
#include "session/DatagramExchange.h"
#include "session/FailureLog.h"
#include "session/StreamSession.h"

namespace wharf::session {
namespace {

constexpr size_t kReadBufferSize = 64 * 1024;

void driveEvents(StreamSession &session) {
  const wharf_plugin &hooks = session.instance().hooks();
  void *instanceState = session.instance().state();
  void *sessionState = nullptr;
  if (hooks.on_session_open != nullptr && !session.runHook("on_session_open", [&] {
        return hooks.on_session_open(instanceState, session.handle(), &sessionState);
      }))
    return;
  std::vector<uint8_t> buffer(kReadBufferSize);
  for (;;) {
    if (session.pendingOutput() > 0) {
      if (!session.flush()) break;
      if (hooks.on_session_writable != nullptr && !session.runHook("on_session_writable", [&] {
            return hooks.on_session_writable(instanceState, sessionState, session.handle());
          }))
        break;
      continue;
    }
    if (session.closeRequested()) break;
    if (session.mustWait()) {
      StreamSession::Wait woke = session.wait();
      if (woke == StreamSession::Wait::Idle) session.endSlowPeer(Ending::IdleTimeout);
      if (woke == StreamSession::Wait::Idle || woke == StreamSession::Wait::Gone) break;
      if (woke == StreamSession::Wait::Agenda) {
        if (!session.runHook("a timer or posted callback", [&] {
              return session.agenda()->runDue(instanceState, sessionState, session.handle());
            }))
          break;
        continue;
      }
    }
    ssize_t got = session.receive(buffer.data(), buffer.size());
    if (got == StreamSession::kWouldBlock) continue;
    if (got <= 0) break;
    if (!session.runHook("on_session_data", [&] {
          return hooks.on_session_data(instanceState, sessionState, session.handle(), buffer.data(),
                                       static_cast<size_t>(got));
        }))
      break;
  }
  // No timer fires, no post runs, from here on; timers' `release` and posts'
  // `dropped` run now.
  session.runFinalHook("closing its timers and posts", [&] { session.agenda()->close(); });
  if (hooks.on_session_close != nullptr)
    session.runFinalHook("on_session_close", [&] {
      hooks.on_session_close(instanceState, sessionState, session.handle());
    });
}

// Runs `serve` to its end. Nothing escapes: out of memory (even before the
// session could start) ends the session, never the process.
template <typename Serve>
void guarded(Poco::Logger &logger, Serve serve) noexcept {
  try {
    serve();
  } catch (const std::exception &error) {
    logFailure(logger, "session ended by an error: ", error.what());
  } catch (...) {
    logFailure(logger, "session ended by an error: ", "unknown");
  }
}

// A blocking-style session's plugin may hand it over (migrate = on) while
// this lasts: a reload rings it.
class Enrollment {
 public:
  Enrollment(SessionCarrier *carrier, StreamSession &session)
      : carrier_(carrier), session_(session) {
    if (carrier_ == nullptr) return;
    session_.carryWith(carrier_);
    carrier_->enroll(session_, session_.generation());
  }
  ~Enrollment() {
    if (carrier_ != nullptr) carrier_->withdraw(session_);
  }
  Enrollment(const Enrollment &) = delete;
  Enrollment &operator=(const Enrollment &) = delete;

 private:
  SessionCarrier *carrier_;
  StreamSession &session_;
};

// A session another worker handed over: imported into this worker's
// generation, answered, and only then served. False: it is not served here
// (its connection closes, never shut down: the other worker's copy goes on).
bool arrive(StreamSession &session, const Arrival &arrival, void *&imported) {
  session.carryOver(arrival.bytes, arrival.started);
  const wharf_plugin &hooks = session.instance().hooks();
  bool taken = hooks.session_import != nullptr && hooks.resume != nullptr &&
               session.importState(
                   arrival.fromVersion,
                   {reinterpret_cast<const uint8_t *>(arrival.state.data()), arrival.state.size()},
                   imported);
  if (!taken || !arrival.answer(true, {})) {
    session.handOff();
    if (!taken) {
      session.withdrawClose();
      arrival.answer(false, hooks.resume == nullptr ? "the new code cannot resume it"
                                                    : "refused by session_import");
      return false;
    }
    // Unanswered, it may yet be served there: the new code frees what it
    // imported in a resume that finds the session ended.
    session.setHandover(Session::Handover::Leaving);
    session.runHook("resume", [&] {
      return hooks.resume(session.instance().state(), imported, session.handle());
    });
    return false;
  }
  session.flush();  // what the import wrote, now that the session is this worker's
  return true;
}

// serve() (or, for a session another worker handed over, resume() from the
// state its import made), then, each time the plugin handed the session
// over, the newer code's resume(), on the same thread and connection.
void serveBlocking(StreamSession &session, std::optional<LiveSessions::Entry> &registered,
                   std::shared_ptr<const void> &pin, std::optional<void *> arrived) {
  // serve() waits for its peer inside the hook: that is not a loop stuck.
  net::HooksCountAgainst uncounted(nullptr);
  plugin::PluginInstance &first = session.instance();
  if (arrived)
    session.runHook(
        "resume", [&] { return first.hooks().resume(first.state(), *arrived, session.handle()); });
  else
    session.runHook("serve", [&] { return first.hooks().serve(first.state(), session.handle()); });
  while (std::optional<StreamSession::Carried> carried = session.takeCarried()) {
    registered.reset();
    registered.emplace(*carried->destination.live, session);
    session.settle(*carried);
    pin = std::move(carried->destination.pin);  // the old generation may be unloaded now
    plugin::PluginInstance &next = session.instance();
    session.runHook("resume", [&] {
      return next.hooks().resume(next.state(), carried->state, session.handle());
    });
  }
}

}  // namespace

void runStreamSession(plugin::PluginInstance &instance, Style style, LiveSessions &live,
                      net::FileDescriptor connection, const net::SocketAddress &peer,
                      const Ledger &ledger, const std::shared_ptr<const tls::ServerContext> &tls,
                      SessionCarrier *carrier, std::shared_ptr<const void> pin,
                      const Arrival *arrival) noexcept {
  guarded(instance.logger(), [&] {
    StreamSession session(instance, std::move(connection), peer, style, ledger);
    std::optional<LiveSessions::Entry> registered(std::in_place, live, session);
    std::optional<void *> arrived;  // the state its import made (which may be null)
    if (arrival != nullptr) {
      void *imported = nullptr;
      if (!arrive(session, *arrival, imported)) return;
      arrived = imported;
    }
    if (tls && !session.startTls(tls)) return;
    if (style == Style::Event) return driveEvents(session);
    Enrollment enrolled(carrier, session);
    serveBlocking(session, registered, pin, arrived);
  });
}

void runDatagramSession(plugin::PluginInstance &instance, Style style, int socketFd,
                        const net::SocketAddress &peer, std::span<const uint8_t> datagram,
                        const Ledger &ledger) noexcept {
  guarded(instance.logger(), [&] {
    DatagramExchange exchange(instance, socketFd, peer, datagram, ledger);
    const wharf_plugin &hooks = instance.hooks();
    if (style == Style::Blocking)
      exchange.runHook("serve", [&] { return hooks.serve(instance.state(), exchange.handle()); });
    else
      exchange.runHook("on_datagram", [&] {
        return hooks.on_datagram(instance.state(), exchange.handle(), exchange.datagram().data(),
                                 exchange.datagram().size());
      });
  });
}

}  // namespace wharf::session
