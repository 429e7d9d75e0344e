// output_budget's default was an eighth of the host's memory: 8 GiB (capped
// at 1 GiB) for a worker whose container may hold 512 MiB. The cgroup v2
// limit caps the memory it is sized from now.
#include "config/MemoryLimit.h"

#include <gtest/gtest.h>
#include <unistd.h>

using wharf::config::bytesOfMemoryMax;

TEST(MemoryLimit, ALimitIsItsBytes) {
  EXPECT_EQ(bytesOfMemoryMax("536870912\n"), 536870912u);
  EXPECT_EQ(bytesOfMemoryMax("0"), 0u);
}

TEST(MemoryLimit, NoLimitOrNonsenseIsNoCap) {
  EXPECT_EQ(bytesOfMemoryMax("max\n"), std::nullopt);
  EXPECT_EQ(bytesOfMemoryMax(""), std::nullopt);
  EXPECT_EQ(bytesOfMemoryMax("512M"), std::nullopt);
  EXPECT_EQ(bytesOfMemoryMax("-1"), std::nullopt);
  EXPECT_EQ(bytesOfMemoryMax("18446744073709551616"), std::nullopt);
}

TEST(MemoryLimit, MemoryAvailableIsAtMostTheMachines) {
  size_t machine =
      static_cast<size_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  size_t available = wharf::config::memoryAvailable();
  EXPECT_GT(available, 0u);
  EXPECT_LE(available, machine);
}
