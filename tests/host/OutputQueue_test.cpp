#include "session/OutputQueue.h"

#include <gtest/gtest.h>

#include <string>

using wharf::session::OutputBudget;
using wharf::session::OutputQueue;

TEST(OutputQueue, CountsTheMemoryItHoldsInTheBudgetUntilFreed) {
  OutputBudget budget;
  budget.setLimit(100);
  {
    OutputQueue queue(budget);
    std::string bytes(80, 'x');
    queue.append(bytes.data(), bytes.size());
    EXPECT_EQ(budget.held(), queue.capacity());
    EXPECT_GE(budget.held(), 80u);
    EXPECT_FALSE(budget.exceeded());
    queue.append(bytes.data(), 30);  // the buffer grows past what waits in it
    EXPECT_EQ(budget.held(), queue.capacity());
    EXPECT_TRUE(budget.exceeded());
    queue.consume(50);
    EXPECT_EQ(queue.size(), 60u);
    EXPECT_EQ(std::string(queue.data(), 3), "xxx");
    queue.consume(60);
    EXPECT_EQ(queue.size(), 0u);
    EXPECT_GT(queue.capacity(), 0u);  // a small buffer is kept for the next burst,
    EXPECT_EQ(budget.held(), 0u);     // but not counted: no cut could win it back
    queue.append(bytes.data(), 10);
  }
  EXPECT_EQ(budget.held(), 0u);  // a session that ends gives its memory back
}

TEST(OutputQueue, ALargeBufferIsFreedOnceThePeerHasTakenAll) {
  OutputBudget budget;
  OutputQueue queue(budget);
  std::string bytes(1 << 20, 'y');
  queue.append(bytes.data(), bytes.size());
  EXPECT_GE(budget.held(), bytes.size());
  queue.consume(bytes.size());
  EXPECT_EQ(budget.held(), 0u);
}

TEST(OutputQueue, DiscardGivesBackWhatWaited) {
  OutputBudget budget;
  OutputQueue queue(budget);
  std::string bytes(1 << 20, 'y');
  queue.append(bytes.data(), bytes.size());
  queue.consume(1000);
  queue.discard();
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_EQ(budget.held(), 0u);
}

TEST(OutputQueue, AReaderAlwaysALittleBehindDoesNotGrowTheBuffer) {
  OutputBudget budget;
  OutputQueue queue(budget);
  std::string chunk(64 << 10, 'z');
  queue.append(chunk.data(), chunk.size());
  for (int round = 0; round < 1000; ++round) {  // 64 MiB through, 64 KiB waiting at each turn
    queue.append(chunk.data(), chunk.size());
    queue.consume(chunk.size());
  }
  EXPECT_EQ(queue.size(), chunk.size());
  EXPECT_EQ(budget.held(), queue.capacity());
  EXPECT_LE(queue.capacity(), 4 * chunk.size());
}
