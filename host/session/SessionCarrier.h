// Internal. Live migration of blocking-style sessions (migrate = on in the
// sync, thread and pool modes). serve() holds its session on its own stack,
// so the host rings (HandoverBell) and the plugin hands the session over from
// inside serve() (session_hand_over). The session runs the newer code's
// session_import itself; the carrier, which the dispatcher owns, says where
// it may go, rings the sessions a reload asks to move and counts what became
// of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "plugin/PluginInstance.h"
#include "session/LiveSessions.h"
#include "session/Migration.h"

namespace wharf::session {

class StreamSession;

class SessionCarrier {
 public:
  // The newer generation a session may move to.
  struct Destination {
    plugin::PluginInstance *instance;
    uint64_t generation;
    LiveSessions *live;
    std::shared_ptr<const void> pin;  // keeps that generation loaded
  };

  virtual ~SessionCarrier() = default;

  // THREAD: the session's. A session of `generation` whose plugin may hand
  // it over: a reload rings it, until withdraw().
  virtual void enroll(StreamSession &session, uint64_t generation) = 0;
  virtual void withdraw(StreamSession &session) = 0;
  // Where `session` may move now: nullopt if no reload asks it (none did,
  // migrate_timeout has passed, it is on the newest code, or this reload's
  // newer code refused it already).
  virtual std::optional<Destination> destination(StreamSession &session) = 0;
  // What the newer code of generation `target` made of the session handed
  // over: Moved (it took it), NotCarried or ImportRefused (it stays, and
  // that reload asks it no more); counted by the round that asked.
  virtual void decided(StreamSession &session, uint64_t target, Migration outcome) = 0;
  // A session taken runs on the newer code of `generation` from now on;
  // `pause`: how long neither code served it.
  virtual void moved(StreamSession &session, uint64_t generation,
                     std::chrono::nanoseconds pause) = 0;
  // A retiring worker (migrate = on across workers): sends `session` with
  // `state` to the worker that replaces this one, and waits for its answer.
  // nullopt: this worker is not retiring (the move stays in the process);
  // true: that worker serves the session from now on; false: it stays here.
  virtual std::optional<bool> sendAway(StreamSession &session, std::span<const uint8_t> state) = 0;
};

}  // namespace wharf::session
