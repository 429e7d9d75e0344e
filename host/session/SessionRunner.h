// Internal. Runs one session to its end on the calling thread, in the style
// the listener chose: the plugin's serve() hook, or the event hooks driven by
// blocking reads and writes. Used by every mode that gives a session its own
// thread or process. Never throws: a failing hook or a throwing plugin ends
// that session only, and is logged with listener and peer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "net/FileDescriptor.h"
#include "net/SocketAddress.h"
#include "plugin/PluginInstance.h"
#include "session/LiveSessions.h"
#include "session/Session.h"
#include "session/SessionCarrier.h"
#include "tls/ServerContext.h"

namespace wharf::session {

// A blocking-style session a retiring worker handed over (migrate = on): what
// its plugin carried, to import before anything else, and how to tell that
// worker whether it moved.
struct Arrival {
  std::string fromVersion;
  std::string state;
  ByteCount bytes;
  std::chrono::steady_clock::time_point started;
  // Moved (before it is served) or refused, and why; false if the answer
  // could not be sent (the other worker may serve it on: it is not served).
  std::function<bool(bool moved, const std::string &why)> answer;
};

// `tls`: the listener's context with tls = on (the handshake comes first), else null.
// `carrier`: where a blocking-style session its plugin hands over goes (migrate
// = on; null: it never moves); `pin` keeps the session's generation loaded,
// and is let go once the session moved on to a newer one.
void runStreamSession(plugin::PluginInstance &instance, Style style, LiveSessions &live,
                      net::FileDescriptor connection, const net::SocketAddress &peer,
                      const Ledger &ledger, const std::shared_ptr<const tls::ServerContext> &tls,
                      SessionCarrier *carrier = nullptr, std::shared_ptr<const void> pin = nullptr,
                      const Arrival *arrival = nullptr) noexcept;

void runDatagramSession(plugin::PluginInstance &instance, Style style, int socketFd,
                        const net::SocketAddress &peer, std::span<const uint8_t> datagram,
                        const Ledger &ledger) noexcept;

}  // namespace wharf::session
