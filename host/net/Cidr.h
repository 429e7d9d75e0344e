// Internal. An IPv4 or IPv6 network ("10.0.0.0/8", "::1/128", or a bare
// address meaning one host) and whether an address lies in it.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "net/SocketAddress.h"

namespace wharf::net {

class Cidr {
 public:
  // Throws std::invalid_argument with the reason.
  static Cidr parse(const std::string &text);

  // IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 networks.
  bool contains(const SocketAddress &address) const;
  int prefixLength() const { return prefix_; }
  const std::string &text() const { return text_; }

 private:
  int family_ = 0;
  std::array<uint8_t, 16> bytes_{};
  int prefix_ = 0;
  std::string text_;
};

}  // namespace wharf::net
