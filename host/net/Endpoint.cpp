#include "net/Endpoint.h"

#include <Poco/NumberParser.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <stdexcept>

namespace wharf::net {
namespace {

struct TransportName {
  Transport transport;
  std::string_view name;
};

constexpr std::array<TransportName, 4> kTransports{{
    {Transport::Tcp, "tcp"},
    {Transport::Udp, "udp"},
    {Transport::Unix, "unix"},
    {Transport::UnixDgram, "unix-dgram"},
}};

uint16_t parsePort(const std::string &text) {
  unsigned port = 0;
  if (!Poco::NumberParser::tryParseUnsigned(text, port) || port > 65535)
    throw std::invalid_argument("'" + text + "' is not a port number (0-65535)");
  return static_cast<uint16_t>(port);
}

SocketAddress parseInetAddress(const std::string &text) {
  std::string host;
  std::string port;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw std::invalid_argument("expected [IPv6]:port");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("expected host:port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      throw std::invalid_argument("an IPv6 address must be written [address]:port");
  }
  sockaddr_in in{};
  if (host == "*" || inet_pton(AF_INET, host.c_str(), &in.sin_addr) == 1) {
    in.sin_family = AF_INET;
    in.sin_port = htons(parsePort(port));
    if (host == "*") in.sin_addr.s_addr = htonl(INADDR_ANY);
    return SocketAddress(reinterpret_cast<sockaddr *>(&in), sizeof in);
  }
  sockaddr_in6 in6{};
  if (inet_pton(AF_INET6, host.c_str(), &in6.sin6_addr) == 1) {
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(parsePort(port));
    return SocketAddress(reinterpret_cast<sockaddr *>(&in6), sizeof in6);
  }
  throw std::invalid_argument("'" + host + "' is not a numeric IPv4 or IPv6 address");
}

SocketAddress parseUnixAddress(const std::string &path) {
  sockaddr_un un{};
  if (path.empty()) throw std::invalid_argument("a unix socket needs a path");
  if (path.size() >= sizeof un.sun_path)
    throw std::invalid_argument("path longer than " + std::to_string(sizeof un.sun_path - 1) +
                                " bytes");
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.data(), path.size());
  return SocketAddress(reinterpret_cast<sockaddr *>(&un),
                       static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1));
}

// The port and whether the address is the family's wildcard (0.0.0.0, ::).
std::pair<uint16_t, bool> portAndWildcard(const SocketAddress &address) {
  if (address.family() == AF_INET) {
    const auto *in = reinterpret_cast<const sockaddr_in *>(address.get());
    return {ntohs(in->sin_port), in->sin_addr.s_addr == htonl(INADDR_ANY)};
  }
  const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(address.get());
  return {ntohs(in6->sin6_port), IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)};
}

}  // namespace

std::optional<Transport> parseTransport(std::string_view name) {
  for (const auto &entry : kTransports)
    if (entry.name == name) return entry.transport;
  return std::nullopt;
}

std::string_view transportName(Transport transport) {
  for (const auto &entry : kTransports)
    if (entry.transport == transport) return entry.name;
  return "?";
}

bool isStream(Transport transport) {
  return transport == Transport::Tcp || transport == Transport::Unix;
}

bool isUnix(Transport transport) {
  return transport == Transport::Unix || transport == Transport::UnixDgram;
}

int Endpoint::socketType() const {
  return isStream(transport) ? SOCK_STREAM : SOCK_DGRAM;
}

bool Endpoint::sameAddressAs(const Endpoint &other) const {
  return socketType() == other.socketType() && address.length() == other.address.length() &&
         std::memcmp(address.get(), other.address.get(), address.length()) == 0;
}

bool Endpoint::conflictsWith(const Endpoint &other) const {
  if (isUnix(transport) || isUnix(other.transport))  // one path holds one socket file
    return isUnix(transport) == isUnix(other.transport) && text == other.text;
  if (sameAddressAs(other)) return true;
  if (socketType() != other.socketType() || address.family() != other.address.family())
    return false;  // IPv6 listeners are IPv6-only: they never overlap IPv4 ones
  auto [port, wildcard] = portAndWildcard(address);
  auto [otherPort, otherWildcard] = portAndWildcard(other.address);
  return port == otherPort && (wildcard || otherWildcard);
}

Endpoint parseEndpoint(Transport transport, const std::string &text) {
  Endpoint endpoint;
  endpoint.transport = transport;
  endpoint.text = text;
  endpoint.address = isUnix(transport) ? parseUnixAddress(text) : parseInetAddress(text);
  return endpoint;
}

}  // namespace wharf::net
