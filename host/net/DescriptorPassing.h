// Internal. One message over a unix socket with a descriptor passed along
// (SCM_RIGHTS): how the master hands listening sockets to its workers, and a
// fork listener's dispatcher hands sessions to its helper.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include "net/FileDescriptor.h"

namespace wharf::net {

// Sends `parts` as one message, with `descriptor` (if >= 0) passed along;
// `flags` adds to MSG_NOSIGNAL. Returns sendmsg's result; EINTR is retried.
ssize_t sendWithDescriptor(int channel, iovec *parts, size_t count, int descriptor, int flags = 0);
// Receives one message into `parts`; a descriptor passed along lands in
// `descriptor` (close-on-exec). Returns recvmsg's result; EINTR is retried.
ssize_t receiveWithDescriptor(int channel, iovec *parts, size_t count, FileDescriptor &descriptor);

}  // namespace wharf::net
