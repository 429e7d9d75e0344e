// Moves an upload's bytes from the socket to the file inside the kernel,
// through a pipe with splice(2): no copy into the plugin and back, as
// sendfile(2) does for downloads. For blocking sessions, which own their
// socket's reads.
#pragma once

#include <cstddef>
#include <stdexcept>

#include "common/Fd.h"

namespace xfer {

class SocketToFile {
 public:
  explicit SocketToFile(int socket);  // a socket < 0, or no pipe to be had: usable() is false

  bool usable() const { return pipeRead_.valid(); }

  enum class End { Peer, Timeout, Error };
  // What ended the socket's side: the peer closed (or reset), SO_RCVTIMEO ran out, or another
  // error.
  struct SocketEnded : std::runtime_error {
    SocketEnded(End why, const char *what) : std::runtime_error(what), why(why) {}
    End why;
  };

  // Moves up to `most` bytes that the socket has, or waits for some, into `file` at its
  // offset. Returns how many. Throws SocketEnded for the socket's side and std::runtime_error
  // ("cannot store: ...") for the file's.
  size_t move(int file, size_t most);

 private:
  int socket_;
  common::Fd pipeRead_, pipeWrite_;
};

}  // namespace xfer
