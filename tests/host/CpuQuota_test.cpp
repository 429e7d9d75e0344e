// workers = auto counted the host's CPUs, not the pod's quota: 64 workers under
// a 512 MiB limit on a 64-core node. The cgroup v2 quota caps it now.
#include "config/CpuQuota.h"

#include <gtest/gtest.h>

#include <thread>

using wharf::config::coresOfQuota;

TEST(CpuQuota, AQuotaGivesItsCoresRoundedUp) {
  EXPECT_EQ(coresOfQuota("200000 100000\n"), 2u);
  EXPECT_EQ(coresOfQuota("150000 100000"), 2u);
  EXPECT_EQ(coresOfQuota("50000 100000"), 1u);
  EXPECT_EQ(coresOfQuota("1000 100000"), 1u);
}

TEST(CpuQuota, NoLimitOrNonsenseIsNoCap) {
  EXPECT_EQ(coresOfQuota("max 100000"), std::nullopt);
  EXPECT_EQ(coresOfQuota(""), std::nullopt);
  EXPECT_EQ(coresOfQuota("12x 100000"), std::nullopt);
  EXPECT_EQ(coresOfQuota("100000 0"), std::nullopt);
}

TEST(CpuQuota, CoresAvailableIsAtLeastOneAndAtMostTheCpusOnline) {
  size_t cores = wharf::config::coresAvailable();
  EXPECT_GE(cores, 1u);
  EXPECT_LE(cores, static_cast<size_t>(std::thread::hardware_concurrency()));
}
