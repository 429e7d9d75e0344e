// Internal. How many cores `workers = auto` may count on: the CPUs this
// process may run on, capped by its cgroup v2 CPU quota (`cpu.max`), so a
// pod limited to 2 CPUs on a 64-core node gets 2 workers, not 64.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace wharf::config {

// The cores a `cpu.max` line ("QUOTA PERIOD", or "max PERIOD") allows,
// rounded up; nullopt for no limit or a line that does not parse.
std::optional<size_t> coresOfQuota(const std::string &cpuMax);
// min(CPUs in the affinity mask, the quotas of this process's cgroup and its
// ancestors), at least 1.
size_t coresAvailable();

}  // namespace wharf::config
