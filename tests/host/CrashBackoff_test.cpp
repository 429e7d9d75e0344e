#include "master/CrashBackoff.h"

#include <gtest/gtest.h>

using std::chrono::milliseconds;
using wharf::master::CrashBackoff;

TEST(CrashBackoff, ReplacesAtOnceThenDoublesWhileWorkersDieYoung) {
  CrashBackoff backoff;
  EXPECT_EQ(backoff.next(milliseconds(5)), milliseconds(0));
  EXPECT_EQ(backoff.next(milliseconds(5)), milliseconds(100));
  EXPECT_EQ(backoff.next(milliseconds(5)), milliseconds(200));
  EXPECT_EQ(backoff.next(milliseconds(5)), milliseconds(400));
}

TEST(CrashBackoff, NeverWaitsLongerThanTheMaximum) {
  CrashBackoff backoff;
  milliseconds delay{0};
  for (int crash = 0; crash < 40; ++crash) delay = backoff.next(milliseconds(1));
  EXPECT_EQ(delay, CrashBackoff::kMaxDelay);
}

TEST(CrashBackoff, AWorkerThatRanAWhileIsReplacedAtOnce) {
  CrashBackoff backoff;
  for (int crash = 0; crash < 5; ++crash) backoff.next(milliseconds(1));
  EXPECT_EQ(backoff.next(CrashBackoff::kStable), milliseconds(0));
  EXPECT_EQ(backoff.next(milliseconds(1)), milliseconds(100));
}
