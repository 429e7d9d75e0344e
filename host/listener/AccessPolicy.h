// Internal. Which peers a listener serves: `allow` and `deny` network lists.
// The most specific matching network decides (deny wins a tie); a peer that
// matches nothing is allowed only when there is no allow list.
#pragma once

#include <string>
#include <vector>

#include "net/Cidr.h"

namespace wharf::listener {

class AccessPolicy {
 public:
  AccessPolicy() = default;
  AccessPolicy(std::vector<net::Cidr> allow, std::vector<net::Cidr> deny)
      : allow_(std::move(allow)), deny_(std::move(deny)) {}

  bool empty() const { return allow_.empty() && deny_.empty(); }
  // Empty when allowed; otherwise why not ("deny 10.0.0.0/8", "not in allow").
  std::string refusal(const net::SocketAddress &peer) const;

 private:
  std::vector<net::Cidr> allow_;
  std::vector<net::Cidr> deny_;
};

}  // namespace wharf::listener
