// Internal. The first bytes of every shared zone (SDK 1.2): what the host
// keeps there for all processes that map it. Offsets, never pointers: each
// process maps the zone at an address of its own.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace wharf::zone {

constexpr uint32_t kZoneMagic = 0x574a4f4eu;  // "WZON"
constexpr uint32_t kHeaderVersion = 1;        // this struct's own layout
constexpr size_t kSizeClasses = 40;           // blocks of 2^4 .. 2^43 bytes
constexpr size_t kListenerNameMax = 128;

struct ZoneHeader {
  uint32_t magic;
  uint32_t headerVersion;
  std::atomic<uint32_t> ready;      // set last by the process that made the zone
  uint32_t layout;                  // the plugin's layout version
  uint64_t size;                    // the whole zone, this header included
  char listener[kListenerNameMax];  // the listener that owns it, NUL-terminated
  pthread_mutex_t lock;             // process-shared and robust
  uint64_t root;                    // the plugin's entry offset; 0 until it sets one
  // The heap (ZoneHeap): blocks from heapStart to heapEnd, carved at top.
  uint64_t heapStart;
  uint64_t top;
  uint64_t heapEnd;
  std::atomic<uint64_t> used;        // bytes in blocks handed out (read without the lock by status)
  uint64_t freeLists[kSizeClasses];  // per size class, the first free block's offset
};

static_assert(std::atomic<uint32_t>::is_always_lock_free &&
                  std::atomic<uint64_t>::is_always_lock_free,
              "a zone's atomics cross processes");

}  // namespace wharf::zone
