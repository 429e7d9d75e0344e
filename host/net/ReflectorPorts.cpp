#include "net/ReflectorPorts.h"

#include <netinet/in.h>

#include <array>
#include <atomic>

namespace wharf::net {
namespace {

constexpr uint16_t kReflectingServices[] = {7, 13, 17, 19, 37};
constexpr uint16_t kEphemeralStart = 32768;

// One bit a port.
std::array<std::atomic<uint64_t>, 65536 / 64> ownPorts;

bool isOwn(uint16_t port) {
  return (ownPorts[port / 64].load(std::memory_order_relaxed) >> (port % 64)) & 1;
}

}  // namespace

void noteOwnDatagramPort(uint16_t port) noexcept {
  ownPorts[port / 64].fetch_or(uint64_t{1} << (port % 64), std::memory_order_relaxed);
}

bool isReflector(const SocketAddress &peer) noexcept {
  uint16_t port = peer.port();
  if (port == 0) return false;  // a unix datagram peer has none
  for (uint16_t service : kReflectingServices)
    if (port == service) return true;
  return isOwn(port) && (port < kEphemeralStart || peer.isLoopback());
}

}  // namespace wharf::net
