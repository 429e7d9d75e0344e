#include "net/Cidr.h"

#include <Poco/NumberParser.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <stdexcept>

namespace wharf::net {
namespace {

// The address's bytes in network order, with IPv4-mapped IPv6 seen as IPv4.
bool addressBytes(const SocketAddress &address, int &family, const uint8_t *&bytes) {
  if (address.family() == AF_INET) {
    family = AF_INET;
    bytes = reinterpret_cast<const uint8_t *>(
        &reinterpret_cast<const sockaddr_in *>(address.get())->sin_addr);
    return true;
  }
  if (address.family() == AF_INET6) {
    const in6_addr &in6 = reinterpret_cast<const sockaddr_in6 *>(address.get())->sin6_addr;
    family = IN6_IS_ADDR_V4MAPPED(&in6) ? AF_INET : AF_INET6;
    bytes = in6.s6_addr + (family == AF_INET ? 12 : 0);
    return true;
  }
  return false;
}

}  // namespace

Cidr Cidr::parse(const std::string &text) {
  Cidr cidr;
  cidr.text_ = text;
  size_t slash = text.find('/');
  std::string host = text.substr(0, slash);
  if (inet_pton(AF_INET, host.c_str(), cidr.bytes_.data()) == 1) {
    cidr.family_ = AF_INET;
  } else if (inet_pton(AF_INET6, host.c_str(), cidr.bytes_.data()) == 1) {
    cidr.family_ = AF_INET6;
  } else {
    throw std::invalid_argument("'" + text + "' is not an IPv4 or IPv6 address or network");
  }
  int maximum = cidr.family_ == AF_INET ? 32 : 128;
  cidr.prefix_ = maximum;
  if (slash != std::string::npos &&
      (!Poco::NumberParser::tryParse(text.substr(slash + 1), cidr.prefix_) || cidr.prefix_ < 0 ||
       cidr.prefix_ > maximum))
    throw std::invalid_argument("'" + text + "': the prefix length must be 0 to " +
                                std::to_string(maximum));
  return cidr;
}

bool Cidr::contains(const SocketAddress &address) const {
  int family = 0;
  const uint8_t *bytes = nullptr;
  if (!addressBytes(address, family, bytes) || family != family_) return false;
  int whole = prefix_ / 8;
  if (std::memcmp(bytes, bytes_.data(), static_cast<size_t>(whole)) != 0) return false;
  int rest = prefix_ % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (bytes[whole] & mask) == (bytes_[whole] & mask);
}

}  // namespace wharf::net
