// Internal. What per-source limits count a peer as: its IPv4 address, or its
// IPv6 /64 (one host is commonly given a whole /64, so a single address would
// let it count as one source per address); empty for unix peers.
#pragma once

#include <string>

#include "net/SocketAddress.h"

namespace wharf::listener {

std::string peerSource(const net::SocketAddress &peer);

}  // namespace wharf::listener
