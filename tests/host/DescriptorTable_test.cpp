#include "process/DescriptorTable.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "ForkedChild.h"

using wharf::process::reserveDescriptorSlots;

namespace {

// The slots this process's descriptor table has now (the kernel's FDSize).
size_t tableSize() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("FDSize:")) return std::stoul(line.substr(7));
  return 0;
}

size_t openDescriptors() {
  auto entries = std::filesystem::directory_iterator("/proc/self/fd");
  return static_cast<size_t>(std::distance(begin(entries), end(entries)));
}

}  // namespace

TEST(DescriptorTable, GrowsTheTableToTheSlotsAskedAndLeavesNothingOpen) {
  EXPECT_TRUE(inForkedChild([] {
    size_t before = openDescriptors();
    if (tableSize() >= 8192) return false;  // nothing this test could see grow
    return reserveDescriptorSlots(8192) == 8192 && tableSize() >= 8192 &&
           openDescriptors() == before;
  }));
}

TEST(DescriptorTable, StopsAtTheOpenFilesLimit) {
  EXPECT_TRUE(inForkedChild([] {
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = 2048;
    if (tableSize() >= 2048 || ::setrlimit(RLIMIT_NOFILE, &files) != 0) return false;
    return reserveDescriptorSlots(8192) == 2048 && tableSize() >= 2048 && tableSize() < 8192;
  }));
}
