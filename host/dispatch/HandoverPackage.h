// Internal. One session as a retiring worker sends it to the worker that
// replaces it (HandoverLink, migrate = on): the listener, the package's id
// (which the answer names), the plugin version that wrote the state, the
// state, the peer, the bytes so far, the start and when it stopped being
// served here. The connection itself rides with it as an attached descriptor.
#pragma once

#include <Poco/JSON/Object.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "net/SocketAddress.h"
#include "session/Session.h"

namespace wharf::dispatch {

// The most state a session takes to another worker: its package (base64,
// a third more) must fit one message of the pair, whose send buffer is
// net.core.wmem_max's double (425,984 bytes by default). A bigger one stays.
constexpr size_t kMaxStateToSend = 256 * 1024;

// `style`: "event" or "blocking", the hooks whose state it is (a new worker
// of another mode cannot take it). `frozenSince`: when this worker stopped
// serving it.
Poco::JSON::Object::Ptr packSession(const std::string &listener, uint64_t id,
                                    const session::Session &session, const std::string &style,
                                    std::span<const uint8_t> state,
                                    std::chrono::steady_clock::time_point frozenSince);

struct UnpackedSession {
  std::string style;
  std::string fromVersion;
  std::string state;
  net::SocketAddress peer;
  session::ByteCount bytes;
  std::chrono::steady_clock::time_point started;
  // Not sent by a worker of an older binary (an upgrade from it).
  std::optional<std::chrono::steady_clock::time_point> frozenSince;
};
// Throws std::exception for a garbled package.
UnpackedSession unpackSession(const Poco::JSON::Object &package);

// The answers to package `id` of `listener`. Moved, sent as the new worker
// is about to serve the session, says how long it was not served (the pause
// its client saw), where the package said since when: the steady clock is
// the host's, one for every process.
Poco::JSON::Object::Ptr movedAnswer(
    const std::string &listener, uint64_t id,
    std::optional<std::chrono::steady_clock::time_point> frozenSince);
Poco::JSON::Object::Ptr refusedAnswer(const std::string &listener, uint64_t id,
                                      const std::string &why);
// The pause a moved answer reports, or `measuredHere` (export to answer, the
// longer) from a new worker that does not say.
std::chrono::nanoseconds pauseReported(const Poco::JSON::Object &answer,
                                       std::chrono::nanoseconds measuredHere);

}  // namespace wharf::dispatch
