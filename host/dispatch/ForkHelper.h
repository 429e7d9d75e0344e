// Internal. The helper process of `mode = fork`. wharfd forks it while still
// single-threaded, so no lock is held by a thread that does not exist in the
// copy; the helper stays single-threaded and forks a child per session from
// there, as forking a multi-threaded process is not safe. It first closes the
// worker's own descriptors (net::HostDescriptor): a session process holds its
// session's socket, the plugins' copies and descriptors, and the log files.
#pragma once

#include "dispatch/DispatchMode.h"

namespace wharf::dispatch {

// Serves the channel's requests until told to stop; never returns.
[[noreturn]] void runForkHelper(int channel, const DispatchContext &context);

}  // namespace wharf::dispatch
