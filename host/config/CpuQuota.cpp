#include "config/CpuQuota.h"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace wharf::config {
namespace {

// This process's cgroup v2 folder ("0::/PATH" in /proc/self/cgroup).
std::string ownCgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("0::")) return "/sys/fs/cgroup" + line.substr(3);
  return "";
}

}  // namespace

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
  if (std::string folder = ownCgroup(); !folder.empty()) {
    std::ifstream in(folder + "/cpu.max");
    std::string line;
    if (std::getline(in, line))
      if (auto quota = coresOfQuota(line)) cores = std::min(cores, *quota);
  }
  return cores;
}

}  // namespace wharf::config
