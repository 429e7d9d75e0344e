// Internal. The allocator inside a shared zone (SDK 1.2): power-of-two size
// classes, each with a free list threaded through its free blocks as
// offsets. As in nginx's slab pool, blocks are never merged: a freed block
// serves its class again. Every change publishes with one store last, so a
// process that dies in the middle loses at most one block and never leaves a
// list pointing at a block in use. Callers hold the zone's lock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "zone/ZoneHeader.h"

namespace wharf::zone {

class ZoneHeap {
 public:
  static constexpr uint64_t kBlockHeader = 16;  // before each block's data

  ZoneHeap(char *base, ZoneHeader &header) : base_(base), header_(header) {}

  // A fresh zone's heap: from `start` (aligned) to the end of the zone.
  static void format(ZoneHeader &header, uint64_t start);

  // The offset of `size` bytes (16-aligned), or 0 when the zone has no room.
  uint64_t allocate(size_t size);
  // False if `offset` is not a block allocate() handed out and not yet released.
  bool release(uint64_t offset);

 private:
  struct Block;
  Block *blockAt(uint64_t offset) const;

  char *base_;
  ZoneHeader &header_;
};

}  // namespace wharf::zone
