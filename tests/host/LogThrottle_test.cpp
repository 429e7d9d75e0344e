#include "listener/LogThrottle.h"

#include <gtest/gtest.h>

using wharf::listener::LogThrottle;
using namespace std::chrono_literals;

TEST(LogThrottle, LetsThroughAFewPerSecondThenCountsTheRest) {
  LogThrottle throttle(2);
  auto start = std::chrono::steady_clock::time_point{} + 10s;
  EXPECT_EQ(throttle.admit(start), 0u);
  EXPECT_EQ(throttle.admit(start + 100ms), 0u);
  EXPECT_FALSE(throttle.admit(start + 200ms));
  EXPECT_FALSE(throttle.admit(start + 300ms));
  // The next second's first line carries the count left out.
  EXPECT_EQ(throttle.admit(start + 1s), 2u);
  EXPECT_EQ(throttle.admit(start + 1100ms), 0u);
  EXPECT_FALSE(throttle.admit(start + 1200ms));
}

TEST(LogThrottle, TheLeftOutNoteSaysHowManyOfWhat) {
  EXPECT_EQ(wharf::listener::leftOutNote(0, "refusals"), "");
  EXPECT_EQ(wharf::listener::leftOutNote(312, "refusals"), " after 312 more refusals not logged");
}
