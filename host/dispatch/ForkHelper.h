// Internal. The helper process of `mode = fork`. A worker forks it while
// still single-threaded and before it loads any plugin, so the copy inherits
// no lock held by a thread it does not have (wharfd's or a plugin's: glibc's
// time-zone lock, a logger's). It closes the worker's own descriptors
// (net::HostDescriptor), loads each generation of the listener's plugin from
// the copy wharfd passes, and forks a child per session from there, staying
// single-threaded, as forking a multi-threaded process is not safe. A session
// process holds its session's socket, its plugin's copy and what the plugin
// opened, and the log files.
#pragma once

#include "dispatch/DispatchMode.h"

namespace wharf::dispatch {

// Serves the channel's requests until told to stop; never returns.
[[noreturn]] void runForkHelper(int channel, const DispatchContext &context);

}  // namespace wharf::dispatch
