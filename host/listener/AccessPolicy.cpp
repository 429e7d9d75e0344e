#include "listener/AccessPolicy.h"

namespace wharf::listener {
namespace {

const net::Cidr *mostSpecific(const std::vector<net::Cidr> &networks,
                              const net::SocketAddress &peer) {
  const net::Cidr *best = nullptr;
  for (const auto &network : networks)
    if (network.contains(peer) && (!best || network.prefixLength() > best->prefixLength()))
      best = &network;
  return best;
}

}  // namespace

std::string AccessPolicy::refusal(const net::SocketAddress &peer) const {
  if (empty()) return "";
  const net::Cidr *allowed = mostSpecific(allow_, peer);
  const net::Cidr *denied = mostSpecific(deny_, peer);
  if (denied && (!allowed || denied->prefixLength() >= allowed->prefixLength()))
    return "deny " + denied->text();
  if (!allowed && !allow_.empty()) return "not in allow";
  return "";
}

}  // namespace wharf::listener
