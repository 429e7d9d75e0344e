// Internal. What this process uses now, read from /proc/self: resident
// memory, open descriptors and threads. Each process reports its own (the
// master cannot list the descriptors of workers that run as another user).
#pragma once

#include <Poco/JSON/Object.h>

namespace wharf::process {

// {"rss_bytes": N, "open_fds": N, "threads": N}; a figure /proc does not
// give is left out.
Poco::JSON::Object::Ptr sampleThisProcess();

}  // namespace wharf::process
