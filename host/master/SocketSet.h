// Internal. The master's listening sockets, one per listener of the config
// it serves. They are bound once and kept across reloads, worker restarts
// and binary upgrades (the workers hold copies), so no connection attempt
// is refused while workers come and go: it waits in the accept queue.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "config/Config.h"
#include "master/ActivatedSockets.h"
#include "net/ListenSocket.h"

namespace wharf::master {

class SocketSet {
 public:
  // THREAD: main. The sockets `config`'s listeners serve: `kept`'s socket
  // where a listener keeps its address (its backlog applied), else the one
  // systemd passed for it (`activated`, at start), else a new one bound.
  // Throws std::runtime_error naming the address, with nothing changed.
  static SocketSet bindFor(const config::Config &config, const SocketSet &kept,
                           ActivatedSockets *activated = nullptr);
  // THREAD: main. Adds a socket bound earlier (held by the master before a
  // binary upgrade), with its role (owned, or systemd's). Throws
  // std::invalid_argument for an endpoint this build cannot read.
  void adopt(const std::string &listener, const std::string &transport, const std::string &listen,
             int fd, net::ListenSocket::Role role);

  const std::shared_ptr<net::ListenSocket> &of(const std::string &listener) const;
  // Whether a socket of this set is bound at `listener`'s address.
  bool servesAddressOf(const config::ListenerConfig &listener) const;
  // Whether `listener`'s socket was bound for this set (not one of `before`'s).
  bool isNew(const std::string &listener, const SocketSet &before) const;
  // THREAD: main. Stops listening on `before`'s sockets that this set does
  // not keep: their addresses refuse connections from now on.
  void stopAbandoned(const SocketSet &before) const;
  // THREAD: main. Every address stops listening (shutting down).
  void stopAccepting() const;

  const std::map<std::string, std::shared_ptr<net::ListenSocket>> &byListener() const {
    return sockets_;
  }

 private:
  bool holds(const net::ListenSocket &socket) const;

  std::map<std::string, std::shared_ptr<net::ListenSocket>> sockets_;
};

}  // namespace wharf::master
