// Internal. Takes a PROXY header off a connected socket and not one byte of
// the data behind it, for the listeners' intake (which never blocks: it
// comes back when more arrives) and for connections a plugin accepted itself
// (which may wait, up to a deadline).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "net/ProxyHeader.h"

namespace wharf::net::proxy {

// Reads what `socket` has without blocking. Bytes of a header not yet whole
// are taken off the socket into `received` (so the socket is not readable
// again until more come: no busy loop on a slow sender); once it is whole,
// exactly the rest of it is taken. Incomplete: call again when readable.
Result take(int socket, std::vector<uint8_t> &received, Accepted accepted);

// Blocks until the whole header is taken, or it turns out invalid, or
// `deadline` passes (Invalid, "did not come whole in time").
Result await(int socket, Accepted accepted, std::chrono::steady_clock::time_point deadline);

}  // namespace wharf::net::proxy
