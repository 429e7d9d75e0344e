// Internal. What this process uses now, read from /proc/self: resident
// memory, CPU time, open descriptors (and the most it may open) and threads. Each process reports
// its own (the master cannot list the descriptors of workers that run as another user).
#pragma once

#include <Poco/JSON/Object.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>

namespace wharf::process {

// {"rss_bytes": N, "cpu_seconds": X, "open_fds": N, "max_fds": N,
// "threads": N}; a figure /proc does not give is left out.
Poco::JSON::Object::Ptr sampleThisProcess();

// The memory process `pid` holds of its own: anonymous resident plus swapped
// out (RssAnon and VmSwap; not files or shared memory it maps, such as a
// zone every worker maps), in bytes; nullopt once it has gone, or where
// /proc hides it (hidepid, with a gid= group the reader is not in).
std::optional<size_t> memoryHeldBy(pid_t pid);

}  // namespace wharf::process
