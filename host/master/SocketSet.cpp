#include "master/SocketSet.h"

#include <stdexcept>

namespace wharf::master {

SocketSet SocketSet::bindFor(const config::Config &config, const SocketSet &kept,
                             ActivatedSockets *activated) {
  SocketSet set;
  for (const auto &listener : config.listeners) {
    std::shared_ptr<net::ListenSocket> socket;
    for (const auto &[name, candidate] : kept.sockets_)
      if (candidate->endpoint().sameAddressAs(listener.endpoint)) socket = candidate;
    if (socket)
      socket->setBacklog(listener.backlog);
    else if (activated && (socket = activated->claim(listener)))
      ;  // its backlog is the .socket unit's (Backlog=)
    else
      socket = std::make_shared<net::ListenSocket>(listener.endpoint, listener.backlog);
    set.sockets_[listener.name] = std::move(socket);
  }
  return set;
}

bool SocketSet::servesAddressOf(const config::ListenerConfig &listener) const {
  for (const auto &[name, socket] : sockets_)
    if (socket->endpoint().sameAddressAs(listener.endpoint)) return true;
  return false;
}

void SocketSet::adopt(const std::string &listener, const std::string &transport,
                      const std::string &listen, int fd, net::ListenSocket::Role role) {
  net::FileDescriptor bound(fd);
  auto parsed = net::parseTransport(transport);
  if (!parsed) throw std::invalid_argument("unknown transport '" + transport + "'");
  sockets_[listener] = std::make_shared<net::ListenSocket>(net::parseEndpoint(*parsed, listen),
                                                           std::move(bound), role);
}

const std::shared_ptr<net::ListenSocket> &SocketSet::of(const std::string &listener) const {
  auto found = sockets_.find(listener);
  if (found == sockets_.end()) throw std::logic_error("no socket for listener " + listener);
  return found->second;
}

bool SocketSet::isNew(const std::string &listener, const SocketSet &before) const {
  return !before.holds(*of(listener));
}

bool SocketSet::holds(const net::ListenSocket &socket) const {
  for (const auto &[name, held] : sockets_)
    if (held.get() == &socket) return true;
  return false;
}

void SocketSet::stopAbandoned(const SocketSet &before) const {
  for (const auto &[name, socket] : before.sockets_)
    if (!holds(*socket)) socket->stopAccepting();
}

void SocketSet::stopAccepting() const {
  for (const auto &[name, socket] : sockets_) socket->stopAccepting();
}

}  // namespace wharf::master
