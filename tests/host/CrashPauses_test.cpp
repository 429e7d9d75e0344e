#include "master/CrashPauses.h"

#include <gtest/gtest.h>

using std::chrono::milliseconds;
using wharf::master::CrashBackoff;
using wharf::master::CrashPauses;

TEST(CrashPauses, EachListenerDoublesAloneWhileItsPluginKeepsCrashing) {
  CrashPauses pauses;
  EXPECT_EQ(pauses.crashed("a", milliseconds(5)), milliseconds(0));
  EXPECT_EQ(pauses.crashed("a", milliseconds(5)), milliseconds(100));
  EXPECT_EQ(pauses.crashed("a", milliseconds(5)), milliseconds(200));
  EXPECT_EQ(pauses.crashed("b", milliseconds(5)), milliseconds(0));  // its own count
}

TEST(CrashPauses, OnlyListenersStillWaitingAreSentToAReplacement) {
  CrashPauses pauses;
  pauses.crashed("a", milliseconds(5));
  pauses.crashed("a", milliseconds(5));  // waits 100 ms
  pauses.crashed("b", milliseconds(5));  // waits none
  auto paused = pauses.remaining({"a", "b", "c"});
  EXPECT_EQ(paused->size(), 1u);
  ASSERT_TRUE(paused->has("a"));
  EXPECT_GT(paused->getValue<int64_t>("a"), 0);
  EXPECT_LE(paused->getValue<int64_t>("a"), 100);
  EXPECT_EQ(pauses.remaining({"b", "c"})->size(), 0u);
}

TEST(CrashPauses, AFirstCrashAfterAStableRunWaitsNone) {
  CrashPauses pauses;
  EXPECT_EQ(pauses.crashed("a", CrashBackoff::kStable), milliseconds(0));
  EXPECT_EQ(pauses.crashed("a", milliseconds(1)), milliseconds(100));
}

TEST(CrashPauses, ALongLivedWorkerDoesNotResetAListenerThatHasNotAcceptedSince) {
  CrashPauses pauses;
  pauses.crashed("a", milliseconds(1));
  pauses.crashed("a", milliseconds(1));  // waits 100 ms from now
  // Another worker of the group, up for long, crashed in it: the listener
  // itself has not served kStable since its last crash.
  EXPECT_EQ(pauses.crashed("a", CrashBackoff::kStable * 2), milliseconds(200));
}

TEST(CrashPauses, AListenerThatWaitedAWorkersWholeLifeRanNoHookInIt) {
  CrashPauses pauses;
  EXPECT_TRUE(pauses.accepted("a", milliseconds(1)));  // never paused
  pauses.crashed("a", milliseconds(1));
  pauses.crashed("a", milliseconds(1));  // waits 100 ms from now
  // A worker started since, dead before the pause ends: a page naming "a"
  // was forged.
  EXPECT_FALSE(pauses.accepted("a", milliseconds(0)));
  // One that ran since before the pause was decided (another worker of
  // the group) may have run a's hooks.
  EXPECT_TRUE(pauses.accepted("a", milliseconds(60000)));
  EXPECT_TRUE(pauses.accepted("b", milliseconds(0)));
}
