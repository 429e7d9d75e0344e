// Internal. A bound listening socket (stream: listening; datagram: bound) for
// one endpoint. The master binds and owns it; each worker holds a shared copy
// that it only takes sessions from. Unix socket files: a stale file is
// replaced only when nothing listens on it, and the file the owner created is
// removed on destruction.
#pragma once

#include <sys/types.h>

#include "net/Endpoint.h"
#include "net/FileDescriptor.h"
#include "net/HostDescriptor.h"

namespace wharf::net {

class ListenSocket {
 public:
  // Throws std::runtime_error naming the address and the reason.
  ListenSocket(const Endpoint &endpoint, int backlog);
  // Shared: a copy a worker takes sessions from. Observer: an upgrade's
  // rehearsal's copy of sockets that others serve on, which changes nothing
  // of them (no backlog, no TCP_DEFER_ACCEPT).
  enum class Role { Owner, Shared, Observer };
  // A socket bound earlier: a worker's shared copy of the master's (received
  // over its channel), or the master's own across a binary upgrade.
  ListenSocket(const Endpoint &endpoint, FileDescriptor bound, Role role);
  ~ListenSocket();
  ListenSocket(const ListenSocket &) = delete;
  ListenSocket &operator=(const ListenSocket &) = delete;

  // THREAD: any. The owner's stream socket stops listening (new connections
  // are refused at once, in every process) and its unix file is removed; the
  // descriptor stays valid until destruction, so a loop still polling it sees
  // no reused number. A datagram socket stays as it is: sessions still
  // running reply through it. A shared copy is left as it is: the master
  // decides when the address stops listening.
  void stopAccepting();
  // THREAD: main. A stream socket's accept queue bound (listen(2) again),
  // by its owner (one systemd passed keeps its unit's Backlog=).
  void setBacklog(int backlog);
  // Whether this process may change the socket's options.
  bool tunable() const { return !observer_; }

  int fd() const { return socket_.fd(); }
  bool owner() const { return owner_; }
  const Endpoint &endpoint() const { return endpoint_; }
  // The address actually bound (port 0 resolved), as text.
  std::string boundAddress() const;

 private:
  void removeUnixSocketFile();

  Endpoint endpoint_;
  HostDescriptor socket_;
  ino_t unixInode_ = 0;  // the file we created, so we never unlink a successor's
  bool owner_ = true;
  bool observer_ = false;
};

}  // namespace wharf::net
