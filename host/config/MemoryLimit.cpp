#include "config/MemoryLimit.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <vector>

#include "config/CgroupFolders.h"

namespace wharf::config {

std::optional<size_t> bytesOfMemoryMax(const std::string &memoryMax) {
  std::string text = memoryMax.substr(0, memoryMax.find_last_not_of(" \n") + 1);
  uint64_t bytes = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), bytes);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return static_cast<size_t>(bytes);
}

size_t memoryAvailable() {
  long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGESIZE);
  size_t memory = pages > 0 && pageSize > 0
                      ? static_cast<size_t>(pages) * static_cast<size_t>(pageSize)
                      : SIZE_MAX;
  auto capBy = [&](const std::vector<std::string> &lines) {
    for (const auto &line : lines)
      if (auto limit = bytesOfMemoryMax(line)) memory = std::min(memory, *limit);
  };
  capBy(firstLines(cgroupFolders(), "memory.max"));
  capBy(firstLines(cgroupV1Folders("memory"), "memory.limit_in_bytes"));
  return memory;
}

}  // namespace wharf::config
