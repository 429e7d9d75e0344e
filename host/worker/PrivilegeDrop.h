// Internal. [host] user and group: a worker becomes that user once it holds
// its sockets and before it loads any plugin, for good (no way back to root,
// no new privileges through exec).
#pragma once

#include <string>

namespace wharf::worker {

// THREAD: main, before any other thread starts (set*id apply per thread
// in the kernel; glibc broadcasts them, but a fork helper must inherit the
// new ids). Does nothing for an empty `user`. Throws std::runtime_error naming
// what failed.
void dropPrivileges(const std::string &user, const std::string &group);
// The worker stays non-dumpable unless `coreDumps`: then a crashing plugin
// leaves a core file, and any process of the workers' user (another
// worker's plugin included) may ptrace it, read /proc/PID/fd and take its
// descriptors with pidfd_getfd.
void setDumpable(bool coreDumps);

}  // namespace wharf::worker
