#include "listener/SourceRate.h"

#include <gtest/gtest.h>

#include <string>

using wharf::listener::SourceRate;
using Clock = SourceRate::Clock;

TEST(SourceRate, AllowsASecondsWorthThenTheRate) {
  SourceRate rate(10);
  Clock::time_point start = Clock::now();
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(rate.allow("192.0.2.1", start)) << i;
  EXPECT_FALSE(rate.allow("192.0.2.1", start));
  EXPECT_TRUE(rate.allow("192.0.2.2", start));  // another source has its own
  EXPECT_TRUE(rate.allow("192.0.2.1", start + std::chrono::milliseconds(100)));
  EXPECT_FALSE(rate.allow("192.0.2.1", start + std::chrono::milliseconds(100)));
}

TEST(SourceRate, ARateBelowOneStillLetsOneDatagramThrough) {
  SourceRate rate(0.5);
  Clock::time_point start = Clock::now();
  EXPECT_TRUE(rate.allow("192.0.2.1", start));
  EXPECT_FALSE(rate.allow("192.0.2.1", start + std::chrono::seconds(1)));
  EXPECT_TRUE(rate.allow("192.0.2.1", start + std::chrono::seconds(2)));
}

TEST(SourceRate, AFullTableForgetsQuietSourcesAndOtherwiseCountsNoNewOne) {
  SourceRate rate(1);
  Clock::time_point start = Clock::now();
  for (size_t i = 0; i < SourceRate::kMaxTrackedSources; ++i)
    ASSERT_TRUE(rate.allow(std::to_string(i), start));
  EXPECT_EQ(rate.tracked(), SourceRate::kMaxTrackedSources);
  // Full, and all heard from just now: a new source is let through uncounted.
  EXPECT_TRUE(rate.allow("new", start));
  EXPECT_TRUE(rate.allow("new", start));
  EXPECT_EQ(rate.tracked(), SourceRate::kMaxTrackedSources);
  EXPECT_FALSE(rate.allow("0", start));  // those counted still are
  // A second later every one of them is quiet: forgotten, and "new" counted.
  Clock::time_point later = start + std::chrono::seconds(2);
  EXPECT_TRUE(rate.allow("new", later));
  EXPECT_EQ(rate.tracked(), 1u);
  EXPECT_FALSE(rate.allow("new", later));
}
