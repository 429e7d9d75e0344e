// Internal. A session taken off the listening socket and admitted, waiting to
// be served: what a blocking mode's schedule() receives.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "listener/Admission.h"
#include "listener/Generation.h"
#include "net/FileDescriptor.h"
#include "net/SocketAddress.h"
#include "session/SessionRunner.h"

namespace wharf::dispatch {

struct PendingSession {
  listener::GenerationPtr generation;                 // pinned at admission
  net::SocketAddress peer;                            // the client (a PROXY header's, once read)
  net::FileDescriptor connection;                     // a stream session's socket (blocking)
  std::vector<uint8_t> datagram;                      // a datagram session's bytes
  std::optional<listener::Admission::Ticket> ticket;  // its place, until it is destroyed
  // Waiting for its PROXY header (proxy_protocol), until this; not yet admitted.
  std::optional<std::chrono::steady_clock::time_point> headerDeadline;
  std::vector<uint8_t> headerSoFar;  // what came of the header already
  // Handed over by a retiring worker (migrate = on): imported before it is served.
  std::shared_ptr<const session::Arrival> arrival;
};

using PendingSessionPtr = std::shared_ptr<PendingSession>;

}  // namespace wharf::dispatch
