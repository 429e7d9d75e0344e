#include "config/CpuQuota.h"

#include <sched.h>

#include <algorithm>
#include <sstream>

#include "config/CgroupFolders.h"

namespace wharf::config {

std::optional<size_t> coresOfQuota(const std::string &cpuMax) {
  std::istringstream in(cpuMax);
  std::string quota;
  unsigned long long period = 0;
  if (!(in >> quota >> period) || quota == "max" || period == 0) return std::nullopt;
  unsigned long long microseconds = 0;
  try {
    size_t used = 0;
    microseconds = std::stoull(quota, &used);
    if (used != quota.size()) return std::nullopt;
  } catch (const std::exception &) {
    return std::nullopt;
  }
  return std::max<size_t>(1, static_cast<size_t>((microseconds + period - 1) / period));
}

size_t coresAvailable() {
  size_t cores = 1;
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cores = std::max(1, CPU_COUNT(&set));
  for (const auto &line : firstLines(cgroupFolders(), "cpu.max"))
    if (auto quota = coresOfQuota(line)) cores = std::min(cores, *quota);
  return cores;
}

}  // namespace wharf::config
