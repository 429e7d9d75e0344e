// Internal. A bound listening socket (stream: listening; datagram: bound) for
// one endpoint. Unix socket files: a stale file is replaced only when nothing
// listens on it, and the file this socket created is removed on destruction.
#pragma once

#include <sys/types.h>

#include "net/Endpoint.h"
#include "net/Socket.h"

namespace wharf::net {

class ListenSocket {
 public:
  // Throws std::runtime_error naming the address and the reason.
  ListenSocket(const Endpoint &endpoint, int backlog);
  ~ListenSocket();
  ListenSocket(const ListenSocket &) = delete;
  ListenSocket &operator=(const ListenSocket &) = delete;

  int fd() const { return socket_.fd(); }
  const Endpoint &endpoint() const { return endpoint_; }
  // The address actually bound (port 0 resolved), as text.
  std::string boundAddress() const;

 private:
  void removeStaleUnixSocket();

  Endpoint endpoint_;
  Socket socket_;
  ino_t unixInode_ = 0;  // the file we created, so we never unlink a successor's
};

}  // namespace wharf::net
