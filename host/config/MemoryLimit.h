// Internal. How much memory this process may count on: the machine's, capped
// by its cgroup's limit (v2 `memory.max`, v1 `memory.limit_in_bytes`), so
// defaults sized from memory (an eighth for output_budget) fit a container
// limited to 512 MiB on a 64 GiB node.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace wharf::config {

// The bytes a `memory.max` line allows; nullopt for "max" or a line that does not parse.
std::optional<size_t> bytesOfMemoryMax(const std::string &memoryMax);
// min(the machine's memory, the limits of this process's cgroup and its ancestors).
size_t memoryAvailable();

}  // namespace wharf::config
