// Internal. `proxy_protocol`: a listener behind a load balancer takes each
// connection's client from the PROXY header the balancer sends first, before
// admission, so that allow/deny, max_per_source, logs, metrics and plugins
// see the client. Only proxy_from may send headers (any peer of a unix
// socket may: its permissions say who connects). Used by every mode; none
// blocks on a header: the connection waits in the mode's event loop.
#pragma once

#include <cstdint>
#include <vector>

#include "dispatch/DispatchMode.h"

namespace wharf::dispatch {

// Whether `peer` may send a PROXY header; counts and logs a refusal if not.
bool proxyTrusted(const DispatchContext &context, const net::SocketAddress &peer);

enum class HeaderRead {
  Waiting,  // not all of it yet: wait for more (until proxy_timeout)
  Refused,  // missing, malformed or closed: counted and logged; close the connection
  Done,     // consumed from the socket; `peer` is the client now (or stays, for LOCAL)
};

// Reads what `socket` has without blocking (net::proxy::take): the data
// after the header stays for the session.
HeaderRead readProxyHeader(const DispatchContext &context, int socket,
                           std::vector<uint8_t> &received, net::SocketAddress &peer);

// Counts and logs connections closed because their header took too long.
void refuseSlowHeaders(const DispatchContext &context, size_t count);

}  // namespace wharf::dispatch
