// Internal. This process's cgroup folder and its ancestors, its own first: a
// limit set on any of them (a container's, or a systemd slice's CPUQuota= or
// MemoryMax=) holds for this process. Empty where there is no such hierarchy.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace wharf::config {

// cgroup v2: below /sys/fs/cgroup.
std::vector<std::filesystem::path> cgroupFolders();
// cgroup v1, the hierarchy of `controller` ("memory"): below /sys/fs/cgroup/CONTROLLER.
std::vector<std::filesystem::path> cgroupV1Folders(const std::string &controller);
// The first line of `file` ("cpu.max") in each of `folders` that has one.
std::vector<std::string> firstLines(const std::vector<std::filesystem::path> &folders,
                                    const std::string &file);

}  // namespace wharf::config
