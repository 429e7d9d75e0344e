// Internal. `wharfd --check-config`: the config and every plugin loaded and
// checked in this short-lived process (never in the master), nothing bound
// and no file created. Started as root with [host] user, the plugins load
// in a child that has become that user, within a deadline.
#pragma once

#include <filesystem>

namespace wharf::app {

// Returns the exit status: 0 valid (a line on stdout), 2 refused (why on the log).
int checkConfig(const std::filesystem::path &configFile);

}  // namespace wharf::app
