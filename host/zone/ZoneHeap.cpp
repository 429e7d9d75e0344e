#include "zone/ZoneHeap.h"

#include <bit>

namespace wharf::zone {

struct ZoneHeap::Block {
  uint32_t state;      // kInUse or kFree
  uint32_t sizeClass;  // the block is 32 << sizeClass bytes
  uint64_t next;       // while free: the next free block of the class
};

namespace {

constexpr uint32_t kInUse = 0x55534544u;  // "USED"
constexpr uint32_t kFree = 0x46524545u;   // "FREE"
constexpr uint64_t kSmallestBlock = 32;

uint64_t blockSize(uint32_t sizeClass) {
  return kSmallestBlock << sizeClass;
}

}  // namespace

void ZoneHeap::format(ZoneHeader &header, uint64_t start) {
  header.heapStart = start;
  header.top = start;
  header.heapEnd = header.size;
  header.used.store(0, std::memory_order_relaxed);
  for (uint64_t &list : header.freeLists) list = 0;
}

ZoneHeap::Block *ZoneHeap::blockAt(uint64_t offset) const {
  static_assert(sizeof(Block) == kBlockHeader);
  return reinterpret_cast<Block *>(base_ + offset);
}

uint64_t ZoneHeap::allocate(size_t size) {
  uint64_t room = header_.heapEnd - header_.heapStart;
  if (size == 0 || size > room) return 0;
  uint64_t wanted = std::bit_ceil(std::max<uint64_t>(size + kBlockHeader, kSmallestBlock));
  auto sizeClass = static_cast<uint32_t>(std::countr_zero(wanted / kSmallestBlock));
  if (sizeClass >= kSizeClasses) return 0;
  uint64_t offset = header_.freeLists[sizeClass];
  if (offset != 0 && blockAt(offset)->state == kFree) {
    Block *block = blockAt(offset);
    header_.freeLists[sizeClass] = block->next;  // published: the block is off the list
    block->state = kInUse;
  } else {
    if (offset != 0) header_.freeLists[sizeClass] = 0;  // a list a crash left broken: dropped
    if (header_.heapEnd - header_.top < wanted) return 0;
    offset = header_.top;
    Block *block = blockAt(offset);
    block->state = kInUse;
    block->sizeClass = sizeClass;
    block->next = 0;
    header_.top = offset + wanted;  // published
  }
  header_.used.fetch_add(wanted, std::memory_order_relaxed);
  return offset + kBlockHeader;
}

bool ZoneHeap::release(uint64_t offset) {
  if (offset < header_.heapStart + kBlockHeader || offset >= header_.top ||
      (offset - header_.heapStart) % kSmallestBlock != kBlockHeader)
    return false;
  uint64_t start = offset - kBlockHeader;
  Block *block = blockAt(start);
  if (block->state != kInUse || block->sizeClass >= kSizeClasses ||
      blockSize(block->sizeClass) > header_.top - start)
    return false;
  block->state = kFree;
  block->next = header_.freeLists[block->sizeClass];
  header_.freeLists[block->sizeClass] = start;  // published
  header_.used.fetch_sub(blockSize(block->sizeClass), std::memory_order_relaxed);
  return true;
}

}  // namespace wharf::zone
