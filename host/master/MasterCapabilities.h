// Internal. What a root master keeps once its workers run as [host] user:
// the capabilities it needs for its own work, dropped from its bounding set
// too, so neither it, nor a binary it re-executes on upgrade, nor a worker
// before its switch can regain the others.
#pragma once

#include <string>

namespace wharf::master {

// THREAD: main, before any worker starts. Keeps CAP_NET_BIND_SERVICE (a
// reload may bind a port below 1024), CAP_SETUID and CAP_SETGID (a worker
// switches user), CAP_KILL (signalling workers that run as another user) and
// CAP_DAC_READ_SEARCH (the --check-config of an upgrade reads what the
// workers' user may read). Returns a line for the log; throws
// std::runtime_error if the kernel refused.
std::string keepMasterCapabilities();

}  // namespace wharf::master
