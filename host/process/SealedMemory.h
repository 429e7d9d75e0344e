// Internal. Bytes handed to another process as a sealed memory file (memfd):
// any size and any bytes, which a JSON message or an environment variable
// could not carry (TLS certificates and keys, to workers and across an
// upgrade's exec), and that the receiver cannot change.
#pragma once

#include <string>
#include <string_view>

#include "net/FileDescriptor.h"

namespace wharf::process {

// A memory file holding `contents`, sealed, close-on-exec. Throws
// std::system_error if the kernel refuses.
net::FileDescriptor sealedMemory(std::string_view contents);

// All of a file's bytes from its start, whatever its offset.
std::string readWhole(int fd);

}  // namespace wharf::process
