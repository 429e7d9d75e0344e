// The timer rules shared by session and instance timers: limits, ids, and
// when each timer's release runs (exactly once, never while its callback runs).
#include "plugin/TimerTable.h"

#include <gtest/gtest.h>

#include <optional>

namespace wharf::plugin {
namespace {

using Table = TimerTable<wharf_instance_callback>;

wharf_status nothing(void *, void *) {
  return WHARF_OK;
}

void countRelease(void *user) {
  ++*static_cast<int *>(user);
}

void releaseAll(const std::vector<TimerRelease> &releases) {
  for (const TimerRelease &release : releases) release();
}

TEST(TimerTable, RefusesBadArgumentsAndTheSixtyFifthTimer) {
  Table table;
  EXPECT_EQ(table.start(1, 0, nullptr, nullptr, nullptr, nullptr), WHARF_INVALID);
  EXPECT_EQ(table.start(Table::kMaxDelayMs + 1, 0, nothing, nullptr, nullptr, nullptr),
            WHARF_INVALID);
  EXPECT_EQ(table.start(1, Table::kMaxDelayMs + 1, nothing, nullptr, nullptr, nullptr),
            WHARF_INVALID);
  for (size_t i = 0; i < Table::kMaxTimers; ++i)
    ASSERT_EQ(table.start(1000, 0, nothing, nullptr, nullptr, nullptr), WHARF_OK);
  EXPECT_EQ(table.start(1000, 0, nothing, nullptr, nullptr, nullptr), WHARF_ERROR);
  table.close();
  EXPECT_EQ(table.start(1000, 0, nothing, nullptr, nullptr, nullptr), WHARF_CLOSED);
}

TEST(TimerTable, AOneShotIsReleasedAfterItsCallbackAndCannotBeCancelled) {
  Table table;
  int released = 0;
  uint64_t id = 0;
  ASSERT_EQ(table.start(0, 0, nothing, countRelease, &released, &id), WHARF_OK);
  std::optional<Table::Due> due = table.takeDue(Table::Clock::now());
  ASSERT_TRUE(due);
  EXPECT_EQ(due->id, id);
  std::optional<TimerRelease> none;
  EXPECT_EQ(table.cancel(id, none), WHARF_NOT_FOUND);  // it is running, and will not again
  EXPECT_FALSE(none);
  std::optional<TimerRelease> release = table.finish();
  ASSERT_TRUE(release);
  (*release)();
  EXPECT_EQ(released, 1);
  EXPECT_TRUE(table.empty());
}

TEST(TimerTable, ARepeatingTimerCancelledFromItsCallbackIsReleasedWhenItReturns) {
  Table table;
  int released = 0;
  uint64_t id = 0;
  ASSERT_EQ(table.start(0, 5, nothing, countRelease, &released, &id), WHARF_OK);
  auto now = Table::Clock::now();
  ASSERT_TRUE(table.takeDue(now));
  EXPECT_FALSE(table.takeDue(now));  // due again a period later, not now
  std::optional<TimerRelease> release;
  EXPECT_EQ(table.cancel(id, release), WHARF_OK);
  EXPECT_FALSE(release);  // not while its callback runs
  release = table.finish();
  ASSERT_TRUE(release);
  (*release)();
  EXPECT_EQ(released, 1);
}

TEST(TimerTable, ARepeatingTimerGoesOnAfterItsCallback) {
  Table table;
  int released = 0;
  ASSERT_EQ(table.start(0, 5, nothing, countRelease, &released, nullptr), WHARF_OK);
  ASSERT_TRUE(table.takeDue(Table::Clock::now()));
  EXPECT_FALSE(table.finish());
  EXPECT_FALSE(table.empty());
  releaseAll(table.close());
  EXPECT_EQ(released, 1);
}

TEST(TimerTable, ClosingWhileACallbackRunsReleasesEachTimerOnce) {
  for (uint64_t repeat : {0, 5}) {
    Table table;
    int released = 0;
    ASSERT_EQ(table.start(0, repeat, nothing, countRelease, &released, nullptr), WHARF_OK);
    ASSERT_TRUE(table.takeDue(Table::Clock::now()));
    releaseAll(table.close());
    if (std::optional<TimerRelease> release = table.finish()) (*release)();
    EXPECT_EQ(released, 1) << "repeat " << repeat;
  }
}

TEST(TimerTable, CancellingAnotherTimerReleasesItAtOnce) {
  Table table;
  int released = 0;
  uint64_t id = 0;
  ASSERT_EQ(table.start(1000, 0, nothing, countRelease, &released, &id), WHARF_OK);
  EXPECT_EQ(table.nextDue().has_value(), true);
  std::optional<TimerRelease> release;
  EXPECT_EQ(table.cancel(id, release), WHARF_OK);
  ASSERT_TRUE(release);
  (*release)();
  EXPECT_EQ(released, 1);
  EXPECT_FALSE(table.nextDue());
  EXPECT_EQ(table.cancel(id, release), WHARF_NOT_FOUND);
}

}  // namespace
}  // namespace wharf::plugin
