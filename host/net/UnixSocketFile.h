// Internal. Making room for a unix socket at a path without taking anything
// that is not ours to take: a socket file nobody listens on (left by a
// wharfd that did not stop cleanly) is removed; a regular file, a folder or
// a socket another process serves is refused, and left alone.
#pragma once

#include <string>

namespace wharf::net {

// Throws std::runtime_error naming the path and why it is not replaced.
void removeStaleUnixSocket(const std::string &path, int socketType);

}  // namespace wharf::net
