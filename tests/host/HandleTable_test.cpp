// Handles the host gives plugins: a handle kept past its object's end finds
// nothing, even once its slot holds another object; no handle is 0 (a NULL
// pointer to the plugin); a made-up one finds nothing.
#include "plugin/HandleTable.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <thread>
#include <vector>

namespace wharf::plugin {
namespace {

struct Thing {
  int number = 0;
};

TEST(HandleTable, ARemovedObjectsHandleFindsNothingEvenWhenItsSlotHoldsAnother) {
  HandleTable<Thing> table;
  Thing first{1}, second{2};
  uintptr_t kept = table.add(&first);
  EXPECT_EQ(table.find(kept), &first);
  table.remove(kept);
  EXPECT_EQ(table.find(kept), nullptr);
  uintptr_t next = table.add(&second);  // the one free slot: the first's
  EXPECT_NE(next, kept);
  EXPECT_EQ(table.find(kept), nullptr);  // not the second
  EXPECT_EQ(table.find(next), &second);
}

TEST(HandleTable, HandlesAreNeverZeroAndNeverRepeat) {
  HandleTable<Thing> table;
  Thing thing;
  std::set<uintptr_t> seen;
  for (int i = 0; i < 10000; ++i) {
    uintptr_t handle = table.add(&thing);
    ASSERT_NE(handle, 0u);
    ASSERT_TRUE(seen.insert(handle).second) << "handle " << handle << " given twice";
    table.remove(handle);
  }
  for (uintptr_t handle : seen) ASSERT_EQ(table.find(handle), nullptr);
}

TEST(HandleTable, AMadeUpHandleFindsNothing) {
  HandleTable<Thing> table;
  Thing thing;
  uintptr_t real = table.add(&thing);
  for (uintptr_t madeUp :
       {uintptr_t{0}, uintptr_t{1} << 32, real + 1, real - 1, real + (uintptr_t{1} << 32),
        uintptr_t{12345}, ~uintptr_t{0}, reinterpret_cast<uintptr_t>(&thing)}) {
    if (madeUp == real) continue;
    EXPECT_EQ(table.find(madeUp), nullptr) << madeUp;
  }
  EXPECT_EQ(table.find(real), &thing);
}

TEST(HandleTable, ManyObjectsComeAndGoAndEachHandleNamesItsOwn) {
  HandleTable<Thing> table;
  constexpr int kCount = 3 * HandleTable<Thing>::kSlotsPerChunk + 17;  // several chunks
  std::vector<Thing> things(2 * kCount);
  std::vector<uintptr_t> handles(2 * kCount);
  for (int i = 0; i < kCount; ++i) {
    things[i].number = i;
    handles[i] = table.add(&things[i]);
  }
  for (int i = 1; i < kCount; i += 2) table.remove(handles[i]);  // every other one goes
  for (int i = kCount; i < 2 * kCount; ++i) {  // their slots, and new ones, get others
    things[i].number = i;
    handles[i] = table.add(&things[i]);
  }
  for (int i = 0; i < 2 * kCount; ++i) {
    bool removed = i < kCount && i % 2 == 1;
    ASSERT_EQ(table.find(handles[i]), removed ? nullptr : &things[i]) << "object " << i;
  }
  for (int i = 0; i < 2 * kCount; ++i)
    if (!(i < kCount && i % 2 == 1)) table.remove(handles[i]);
  for (uintptr_t handle : handles) ASSERT_EQ(table.find(handle), nullptr);
}

TEST(HandleTable, AnEntryNamesItsObjectForItsLifetimeOnly) {
  HandleTable<Thing> table;
  Thing thing;
  uintptr_t value = 0;
  {
    HandleTable<Thing>::Entry entry(table, &thing);
    value = entry.value();
    EXPECT_EQ(table.find(value), &thing);
  }
  EXPECT_EQ(table.find(value), nullptr);
}

// THREAD: any. Threads that add, look up and remove at once each find their
// own objects only (and, under TSan, race on nothing).
TEST(HandleTable, ThreadsAddingAndRemovingAtOnceFindOnlyTheirOwn) {
  HandleTable<Thing> table;
  constexpr int kThreads = 4, kRounds = 5000;
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      Thing mine{t};
      std::vector<uintptr_t> gone;
      for (int round = 0; round < kRounds; ++round) {
        uintptr_t handle = table.add(&mine);
        if (table.find(handle) != &mine) ++wrong[t];
        table.remove(handle);
        if (round % 100 == 0) gone.push_back(handle);
      }
      for (uintptr_t handle : gone)
        if (table.find(handle) != nullptr) ++wrong[t];
    });
  for (auto &thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace wharf::plugin
