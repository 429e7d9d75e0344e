// Internal. Who a process runs as, for status and the log.
#pragma once

#include <string>

namespace wharf::process {

// The name of this process's effective user (its uid if it has no name).
std::string currentUserName();

}  // namespace wharf::process
