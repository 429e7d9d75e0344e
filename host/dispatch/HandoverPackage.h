// Internal. One session as a retiring worker sends it to the worker that
// replaces it (HandoverLink, migrate = on): the listener, the package's id
// (which the answer names), the plugin version that wrote the state, the
// state, the peer, the bytes so far and the start. The connection itself
// rides with it as an attached descriptor.
#pragma once

#include <Poco/JSON/Object.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "net/SocketAddress.h"
#include "session/Session.h"

namespace wharf::dispatch {

// The most state a session takes to another worker: its package (base64,
// a third more) must fit one message of the pair, whose send buffer is
// net.core.wmem_max's double (425,984 bytes by default). A bigger one stays.
constexpr size_t kMaxStateToSend = 256 * 1024;

Poco::JSON::Object::Ptr packSession(const std::string &listener, uint64_t id,
                                    const session::Session &session,
                                    std::span<const uint8_t> state);

struct UnpackedSession {
  std::string fromVersion;
  std::string state;
  net::SocketAddress peer;
  session::ByteCount bytes;
  std::chrono::steady_clock::time_point started;
};
// Throws std::exception for a garbled package.
UnpackedSession unpackSession(const Poco::JSON::Object &package);

// The answer to package `id` of `listener`: moved, or refused and why.
Poco::JSON::Object::Ptr answerFor(const std::string &listener, uint64_t id, bool moved,
                                  const std::string &why = {});

}  // namespace wharf::dispatch
