// Internal. Datagram sources a service must never answer (inetd's
// check_loop, CVE-1999-0103): the ports of this host's own UDP listeners
// (one spoofed datagram from one of them to another, echo to echo, or time
// to echo, starts a ping-pong that never ends) and the well-known ports of
// services that answer anything: echo 7, daytime 13, qotd 17, chargen 19,
// time 37. Not NTP's 123: NTP clients send from it, and a server's reply
// (mode 4) is not answered. A listener port in the ephemeral range (32768
// and up) is matched only for loopback sources: a client elsewhere may have
// it as its own.
// THREAD: any; lock-free.
#pragma once

#include <cstdint>

#include "net/SocketAddress.h"

namespace wharf::net {

// A UDP listener of this process serves `port`.
void noteOwnDatagramPort(uint16_t port) noexcept;
// Whether a datagram from `peer` must be dropped unanswered.
bool isReflector(const SocketAddress &peer) noexcept;

}  // namespace wharf::net
