// Internal. Per-process limits wharfd sets for itself at start.
#pragma once

#include <string>

namespace wharf::app {

// Raises the soft open-files limit to the hard one (each connection is a
// descriptor; 1024 is far too few for a server). Returns a line for the log.
std::string raiseOpenFileLimit();

}  // namespace wharf::app
