// Internal. Where a listener listens: a transport and an address, parsed from
// the config's `transport` and `listen` keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "net/SocketAddress.h"

namespace wharf::net {

enum class Transport { Tcp, Udp, Unix, UnixDgram };

std::optional<Transport> parseTransport(std::string_view name);
std::string_view transportName(Transport transport);
bool isStream(Transport transport);
bool isUnix(Transport transport);

struct Endpoint {
  Transport transport = Transport::Tcp;
  SocketAddress address;
  std::string text;  // as written in the config (a resolved path for unix)

  int socketType() const;
  // Same transport kind (stream or datagram) and the same address: a reload
  // keeps such a listener's socket.
  bool sameAddressAs(const Endpoint &other) const;
  // Whether both cannot be bound at once: the same unix path (of any kind),
  // or the same port of one family and kind where either address is the
  // wildcard ("*:7" and "127.0.0.1:7").
  bool conflictsWith(const Endpoint &other) const;
};

// "127.0.0.1:7007", "[::1]:7007", "*:7007" (all IPv4) for tcp/udp; an
// absolute path for unix transports. Throws std::invalid_argument with the reason.
Endpoint parseEndpoint(Transport transport, const std::string &text);

}  // namespace wharf::net
