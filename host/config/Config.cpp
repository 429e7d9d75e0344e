#include "config/Config.h"

#include <sys/socket.h>

#include <algorithm>

namespace wharf::config {
namespace {

bool sameNetworks(const std::vector<net::Cidr> &a, const std::vector<net::Cidr> &b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const net::Cidr &x, const net::Cidr &y) { return x.text() == y.text(); });
}

bool sameLimits(const ListenerLimits &a, const ListenerLimits &b) {
  return a.maxConnections == b.maxConnections && a.maxPerSource == b.maxPerSource &&
         a.perSourceSparesLoopback == b.perSourceSparesLoopback && a.acceptRate == b.acceptRate &&
         a.idleTimeout == b.idleTimeout && a.maxDatagram == b.maxDatagram &&
         a.datagramRate == b.datagramRate &&
         a.datagramRateSparesLoopback == b.datagramRateSparesLoopback &&
         sameNetworks(a.allow, b.allow) && sameNetworks(a.deny, b.deny);
}

bool sameProxy(const ProxySettings &a, const ProxySettings &b) {
  return a.accepted == b.accepted && a.timeout == b.timeout && sameNetworks(a.from, b.from);
}

}  // namespace

bool ProxySettings::trusts(const net::SocketAddress &peer) const {
  if (peer.family() == AF_UNIX) return true;
  return std::any_of(from.begin(), from.end(),
                     [&](const net::Cidr &network) { return network.contains(peer); });
}

bool ListenerConfig::sameShapeAs(const ListenerConfig &other) const {
  return name == other.name && endpoint.transport == other.endpoint.transport &&
         endpoint.sameAddressAs(other.endpoint) && mode == other.mode && backlog == other.backlog &&
         sameLimits(limits, other.limits) && pool.workers == other.pool.workers &&
         pool.queue == other.pool.queue && fork.maxChildren == other.fork.maxChildren &&
         reactor.outputHighWater == other.reactor.outputHighWater &&
         reactor.sendTimeout == other.reactor.sendTimeout && waitForData == other.waitForData &&
         accessLog == other.accessLog && accessLogFormat == other.accessLogFormat &&
         logEmptySessions == other.logEmptySessions && sameProxy(proxy, other.proxy) &&
         tls.enabled == other.tls.enabled;
}

WorkersUser Config::workersUserOf(const ListenerConfig &listener) const {
  return listener.user.user.empty() ? host.workersUser() : listener.user;
}

std::vector<WorkersUser> Config::workersUsers() const {
  std::vector<WorkersUser> users = {host.workersUser()};
  for (const auto &listener : listeners)
    if (WorkersUser user = workersUserOf(listener);
        std::find(users.begin(), users.end(), user) == users.end())
      users.push_back(user);
  return users;
}

HeldFiles Config::heldFiles(const std::optional<std::vector<std::string>> &listenerNames) const {
  HeldFiles held;
  for (const auto &listener : listeners) {
    if (!listener.tls.enabled ||
        (listenerNames && std::find(listenerNames->begin(), listenerNames->end(), listener.name) ==
                              listenerNames->end()))
      continue;
    for (const auto &identity : listener.tls.identities) {
      held[identity.certificateFile] = identity.certificatePem;
      held[identity.keyFile] = identity.keyPem;
    }
    if (!listener.tls.clientCaFile.empty())
      held[listener.tls.clientCaFile] = listener.tls.clientCaPem;
  }
  return held;
}

}  // namespace wharf::config
