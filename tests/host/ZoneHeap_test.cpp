// The allocator inside a shared zone, over plain memory: blocks within the
// zone, reused by their size class, refused when full or bogus.
#include "zone/ZoneHeap.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace wharf::zone {
namespace {

struct Zone {
  explicit Zone(uint64_t size) : memory(size / 64) {
    header().size = size;
    ZoneHeap::format(header(), 1024);
  }
  ZoneHeader &header() { return *reinterpret_cast<ZoneHeader *>(memory.data()); }
  ZoneHeap heap() { return ZoneHeap(reinterpret_cast<char *>(memory.data()), header()); }
  struct alignas(64) Line {
    char bytes[64] = {};
  };
  std::vector<Line> memory;
};

TEST(ZoneHeap, BlocksAreAlignedInsideTheZoneAndDoNotOverlap) {
  Zone zone(64 * 1024);
  std::set<std::pair<uint64_t, uint64_t>> blocks;
  for (size_t size : {1, 16, 17, 100, 1000, 4000}) {
    uint64_t offset = zone.heap().allocate(size);
    ASSERT_NE(offset, 0u) << size;
    EXPECT_EQ(offset % 16, 0u);
    EXPECT_GE(offset, 1024u);
    EXPECT_LE(offset + size, zone.header().size);
    for (const auto &[start, end] : blocks) EXPECT_TRUE(offset + size <= start || offset >= end);
    blocks.insert({offset, offset + size});
  }
}

TEST(ZoneHeap, AReleasedBlockServesItsClassAgain) {
  Zone zone(64 * 1024);
  uint64_t first = zone.heap().allocate(100);
  ASSERT_TRUE(zone.heap().release(first));
  EXPECT_EQ(zone.heap().allocate(90), first);  // the same class: the same block
  EXPECT_EQ(zone.header().used.load(), 128u);
}

TEST(ZoneHeap, AFullZoneRefusesAndBogusReleasesAreRefused) {
  Zone zone(64 * 1024);
  EXPECT_EQ(zone.heap().allocate(0), 0u);
  EXPECT_EQ(zone.heap().allocate(64 * 1024), 0u);  // more than the heap
  std::vector<uint64_t> taken;
  while (uint64_t offset = zone.heap().allocate(1000)) taken.push_back(offset);
  EXPECT_EQ(taken.size(), (64 * 1024 - 1024) / 1024);
  EXPECT_FALSE(zone.heap().release(taken[0] + 16));  // not a block's start
  EXPECT_FALSE(zone.heap().release(8));              // the header
  EXPECT_TRUE(zone.heap().release(taken[0]));
  EXPECT_FALSE(zone.heap().release(taken[0]));  // twice
  EXPECT_EQ(zone.heap().allocate(1000), taken[0]);
}

}  // namespace
}  // namespace wharf::zone
