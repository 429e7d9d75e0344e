#include "SessionCounts.h"

#include <gtest/gtest.h>

#include <string>

using ftp::SessionCounts;

// Counted in this process (no zone): the shared table's counting is the same
// code path for take and adopt.
TEST(SessionCounts, AnAdoptedSessionIsNeverRefusedAndCountsOnceTheOldPlaceGoes) {
  SessionCounts counts(0, 1);  // one session per address
  std::string reason;
  auto old = counts.take("192.0.2.1", reason);
  ASSERT_TRUE(old);
  EXPECT_FALSE(counts.take("192.0.2.1", reason));
  EXPECT_EQ(reason, "Too many connections from your address.");
  // Older code hands the session over: the newer code's place comes first.
  auto adopted = counts.adopt("192.0.2.1");
  ASSERT_TRUE(adopted);
  old.reset();  // the older code's serve() returns
  reason.clear();
  EXPECT_FALSE(counts.take("192.0.2.1", reason)) << "the moved session still counts";
  adopted.reset();  // it ends
  EXPECT_TRUE(counts.take("192.0.2.1", reason)) << "its place was not left behind";
}

TEST(SessionCounts, AdoptingPassesTheTotalLimitToo) {
  SessionCounts counts(1, 0);
  std::string reason;
  auto old = counts.take("192.0.2.1", reason);
  ASSERT_TRUE(old);
  auto adopted = counts.adopt("192.0.2.2");
  ASSERT_TRUE(adopted);
  old.reset();
  EXPECT_FALSE(counts.take("192.0.2.3", reason));
  EXPECT_EQ(reason, "Too many users, try again later.");
  adopted.reset();
  EXPECT_TRUE(counts.take("192.0.2.3", reason));
}
