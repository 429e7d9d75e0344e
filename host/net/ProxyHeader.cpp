#include "net/ProxyHeader.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace wharf::net::proxy {
namespace {

using Status = Result::Status;

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr size_t kV1MaxLength = 107;  // the spec's bound, CRLF included
constexpr uint8_t kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr size_t kV2FixedLength = 16;

Result invalid(std::string error) {
  return {Status::Invalid, {}, std::move(error)};
}

Result incomplete() {
  return {Status::Incomplete, {}, {}};
}

// Whether `received` could still start with `prefix` (all it has matches).
bool startsLike(std::span<const uint8_t> received, std::span<const uint8_t> prefix) {
  size_t compared = std::min(received.size(), prefix.size());
  return std::memcmp(received.data(), prefix.data(), compared) == 0;
}

std::optional<uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

// "1.2.3.4" + "80" (family AF_INET) or "::1" + "80" (AF_INET6), strictly.
std::optional<SocketAddress> inetAddress(int family, std::string_view ip, std::string_view port) {
  auto number = parsePort(port);
  if (!number || ip.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string text(ip);
  sockaddr_storage storage{};
  if (family == AF_INET) {
    auto &in = reinterpret_cast<sockaddr_in &>(storage);
    in.sin_family = AF_INET;
    in.sin_port = htons(*number);
    if (::inet_pton(AF_INET, text.c_str(), &in.sin_addr) != 1) return std::nullopt;
    return SocketAddress(reinterpret_cast<sockaddr *>(&in), sizeof in);
  }
  auto &in6 = reinterpret_cast<sockaddr_in6 &>(storage);
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(*number);
  if (::inet_pton(AF_INET6, text.c_str(), &in6.sin6_addr) != 1) return std::nullopt;
  return SocketAddress(reinterpret_cast<sockaddr *>(&in6), sizeof in6);
}

// "PROXY TCP4 src dst sport dport\r\n", "PROXY TCP6 ...", "PROXY UNKNOWN ...\r\n".
Result parseV1(std::span<const uint8_t> received) {
  std::string_view text(reinterpret_cast<const char *>(received.data()),
                        std::min(received.size(), kV1MaxLength));
  size_t end = text.find("\r\n");
  if (end == std::string_view::npos) {
    if (text.size() >= kV1MaxLength) return invalid("v1 header longer than 107 bytes");
    return incomplete();
  }
  Result result{Status::Complete, {}, {}};
  result.header.length = end + 2;
  std::string_view line = text.substr(kV1Prefix.size(), end - kV1Prefix.size());
  std::string_view fields[5];
  size_t count = 0;
  while (!line.empty() && count < 5) {
    size_t space = line.find(' ');
    fields[count++] = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  }
  if (count >= 1 && fields[0] == "UNKNOWN") {  // the rest is to be ignored
    result.header.local = true;
    return result;
  }
  if (count != 5 || !line.empty()) return invalid("malformed v1 header");
  int family = fields[0] == "TCP4" ? AF_INET : fields[0] == "TCP6" ? AF_INET6 : AF_UNSPEC;
  if (family == AF_UNSPEC) return invalid("v1 header with unknown protocol");
  auto source = inetAddress(family, fields[1], fields[3]);
  auto destination = inetAddress(family, fields[2], fields[4]);
  if (!source || !destination) return invalid("v1 header with a malformed address or port");
  result.header.source = *source;
  result.header.destination = *destination;
  return result;
}

// An address from v2's network-order bytes: the IP (4 or 16 bytes) and the port (2).
SocketAddress inetAddress(int family, const uint8_t *ip, const uint8_t *port) {
  if (family == AF_INET) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    std::memcpy(&address.sin_addr, ip, 4);
    std::memcpy(&address.sin_port, port, 2);
    return SocketAddress(reinterpret_cast<sockaddr *>(&address), sizeof address);
  }
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  std::memcpy(&address.sin6_addr, ip, 16);
  std::memcpy(&address.sin6_port, port, 2);
  return SocketAddress(reinterpret_cast<sockaddr *>(&address), sizeof address);
}

// TLVs: type, 16-bit length, value; each must fit in what the header says.
bool tlvsWellFormed(std::span<const uint8_t> tlvs) {
  while (!tlvs.empty()) {
    if (tlvs.size() < 3) return false;
    size_t length = (static_cast<size_t>(tlvs[1]) << 8) | tlvs[2];
    if (tlvs.size() < 3 + length) return false;
    tlvs = tlvs.subspan(3 + length);
  }
  return true;
}

Result parseV2(std::span<const uint8_t> received) {
  if (received.size() < kV2FixedLength) return incomplete();
  uint8_t versionCommand = received[12], familyProtocol = received[13];
  size_t length = (static_cast<size_t>(received[14]) << 8) | received[15];
  if ((versionCommand >> 4) != 2)
    return invalid("v2 header with version " + std::to_string(versionCommand >> 4));
  uint8_t command = versionCommand & 0x0F;
  if (command > 1) return invalid("v2 header with unknown command " + std::to_string(command));
  if (kV2FixedLength + length > kMaxLength)
    return invalid("v2 header of " + std::to_string(kV2FixedLength + length) + " bytes (at most " +
                   std::to_string(kMaxLength) + ")");
  if (received.size() < kV2FixedLength + length) return incomplete();
  std::span<const uint8_t> body = received.subspan(kV2FixedLength, length);
  Result result{Status::Complete, {}, {}};
  result.header.length = kV2FixedLength + length;
  if (command == 0) {  // LOCAL: whatever follows is ignored
    result.header.local = true;
    return result;
  }
  size_t addresses = 0;
  uint8_t family = familyProtocol >> 4, transport = familyProtocol & 0x0F;
  if (transport != 1 && transport != 2 && familyProtocol != 0)
    return invalid("v2 header with unknown transport " + std::to_string(transport));
  if (family == 1 || family == 2) {
    bool v4 = family == 1;
    size_t ip = v4 ? 4 : 16;
    addresses = 2 * ip + 4;
    if (body.size() < addresses)
      return invalid(std::string("v2 ") + (v4 ? "IPv4" : "IPv6") + " header too short");
    int inet = v4 ? AF_INET : AF_INET6;
    result.header.source = inetAddress(inet, body.data(), body.data() + 2 * ip);
    result.header.destination = inetAddress(inet, body.data() + ip, body.data() + 2 * ip + 2);
  } else if (family == 3) {
    addresses = 216;
    if (body.size() < addresses) return invalid("v2 unix header too short");
    sockaddr_un source{}, destination{};
    source.sun_family = destination.sun_family = AF_UNIX;
    // 108 bytes each, NUL-padded; a path that fills them has no NUL: cut to fit.
    std::memcpy(source.sun_path, body.data(), sizeof source.sun_path - 1);
    std::memcpy(destination.sun_path, body.data() + 108, sizeof destination.sun_path - 1);
    result.header.source = SocketAddress(reinterpret_cast<sockaddr *>(&source), sizeof source);
    result.header.destination =
        SocketAddress(reinterpret_cast<sockaddr *>(&destination), sizeof destination);
  } else if (family == 0) {  // UNSPEC: the receiver uses the connection's own endpoints
    result.header.local = true;
  } else {
    return invalid("v2 header with unknown address family " + std::to_string(family));
  }
  if (!tlvsWellFormed(body.subspan(addresses))) return invalid("v2 header with malformed TLVs");
  return result;
}

}  // namespace

Result parse(std::span<const uint8_t> received, Accepted accepted) {
  if (received.empty()) return incomplete();
  auto v1Prefix = std::span(reinterpret_cast<const uint8_t *>(kV1Prefix.data()), kV1Prefix.size());
  bool v1 = accepted != Accepted::V2 && startsLike(received, v1Prefix);
  bool v2 = accepted != Accepted::V1 && startsLike(received, kV2Signature);
  if (!v1 && !v2) return invalid("no PROXY protocol header");
  if (v1) return received.size() < kV1Prefix.size() ? incomplete() : parseV1(received);
  return received.size() < sizeof kV2Signature ? incomplete() : parseV2(received);
}

}  // namespace wharf::net::proxy
