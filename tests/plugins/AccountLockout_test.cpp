#include "AccountLockout.h"

#include <gtest/gtest.h>

using ftp::AccountLockout;
using std::chrono::seconds;

namespace {
const AccountLockout::Clock::time_point kStart{};
}

TEST(AccountLockout, LocksAfterTheBudgetWithinTheWindowAndUnlocksAfterIt) {
  AccountLockout lockout(3, seconds(60));
  EXPECT_FALSE(lockout.failed("alice", true, kStart));
  EXPECT_FALSE(lockout.failed("alice", true, kStart + seconds(10)));
  EXPECT_FALSE(lockout.locked("alice", kStart + seconds(10)));
  EXPECT_TRUE(lockout.failed("alice", true, kStart + seconds(20)));  // the third: locked, said once
  EXPECT_TRUE(lockout.locked("alice", kStart + seconds(30)));
  EXPECT_FALSE(lockout.failed("alice", true, kStart + seconds(30)));  // counted already
  EXPECT_FALSE(lockout.locked("bob", kStart + seconds(30)));
  EXPECT_FALSE(lockout.locked("alice", kStart + seconds(81)));
}

TEST(AccountLockout, FailuresSpreadWiderThanTheWindowNeverLock) {
  AccountLockout lockout(3, seconds(60));
  for (int n = 0; n < 10; ++n)
    EXPECT_FALSE(lockout.failed("alice", true, kStart + seconds(n * 40)));
}

TEST(AccountLockout, ASuccessForgetsTheFailures) {
  AccountLockout lockout(2, seconds(60));
  EXPECT_FALSE(lockout.failed("alice", true, kStart));
  lockout.succeeded("alice");
  EXPECT_FALSE(lockout.failed("alice", true, kStart + seconds(1)));
}

TEST(AccountLockout, ZeroNeverLocks) {
  AccountLockout lockout(0, seconds(60));
  for (int n = 0; n < 100; ++n) EXPECT_FALSE(lockout.failed("alice", true, kStart));
  EXPECT_FALSE(lockout.locked("alice", kStart));
}

TEST(AccountLockout, AsprayOfNamesKeepsMemoryBoundedAndStillLocksTheTarget) {
  AccountLockout lockout(2, seconds(60));
  EXPECT_FALSE(lockout.failed("alice", true, kStart));
  for (int n = 0; n < 20000; ++n) lockout.failed("made-up-" + std::to_string(n), true, kStart);
  // alice's first failure may have been evicted as the oldest; two more lock her.
  lockout.failed("alice", true, kStart + seconds(1));
  lockout.failed("alice", true, kStart + seconds(2));
  EXPECT_TRUE(lockout.locked("alice", kStart + seconds(3)));
}
