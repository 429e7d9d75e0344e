// Internal. Handles the host gives plugins (`wharf_session *`,
// `wharf_instance *`) that cannot alias: a handle is a slot number and that
// slot's generation, packed into a pointer-sized value. When its object goes
// the slot's generation moves on, so a handle kept past its object's end
// finds nothing, never the next object that reuses the slot (nginx's stale
// event bit, for plugins). A plugin must never look inside a handle.
//
// A freed slot waits behind kReuseDelay others before it is reused, and a
// generation has 40 bits: a handle would have to be kept through 2^40 reuses
// of its slot, each behind a thousand others, to name an object again.
//
// THREAD: any. Lookups take no lock (slots never move once made); adding and
// removing take one. A lookup is only as safe as the caller's right to the
// object: a session handle belongs to the session's own thread (its hooks),
// where the session is also removed; wharf.h says so.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <new>

namespace wharf::plugin {

template <typename Object>
class HandleTable {
 public:
  static constexpr uint32_t kSlotsPerChunk = 4096;
  static constexpr uint32_t kMaxChunks = 4096;  // 16 M objects at once: 24 bits of slot number
  static constexpr size_t kReuseDelay = 1024;   // freed slots waiting before one is reused

  // The handle of `object` (never 0). Throws std::bad_alloc when out of memory or slots.
  uintptr_t add(Object *object) {
    std::lock_guard lock(mutex_);
    uint32_t index;
    if (free_.size() > kReuseDelay) {
      index = free_.front();
      free_.pop_front();
    } else {
      if (made_ == kSlotsPerChunk * kMaxChunks - 1) throw std::bad_alloc();  // index + 1 fits
      if (made_ % kSlotsPerChunk == 0)
        chunks_[made_ / kSlotsPerChunk].store(new Chunk, std::memory_order_release);
      index = made_++;
    }
    Slot &slot = this->slot(index);
    slot.object.store(object, std::memory_order_release);
    return pack(index, slot.generation.load(std::memory_order_relaxed));
  }

  // The object goes: its handle finds nothing from now on.
  void remove(uintptr_t handle) noexcept {
    uint32_t index = indexOf(handle);
    std::lock_guard lock(mutex_);
    Slot &slot = this->slot(index);
    slot.object.store(nullptr, std::memory_order_relaxed);
    slot.generation.store((slot.generation.load(std::memory_order_relaxed) + 1) & kGenerationMask,
                          std::memory_order_release);
    try {
      free_.push_back(index);
    } catch (...) {  // no memory to list it: the slot is not reused
    }
  }

  // The object, or nullptr for a stale or made-up handle.
  Object *find(uintptr_t handle) const noexcept {
    uint32_t index = indexOf(handle);
    if (index / kSlotsPerChunk >= kMaxChunks) return nullptr;
    const Chunk *chunk = chunks_[index / kSlotsPerChunk].load(std::memory_order_acquire);
    if (chunk == nullptr) return nullptr;
    const Slot &slot = (*chunk)[index % kSlotsPerChunk];
    if (slot.generation.load(std::memory_order_acquire) != generationOf(handle)) return nullptr;
    Object *object = slot.object.load(std::memory_order_acquire);
    // Still that generation once the object was read: not a later one's.
    if (slot.generation.load(std::memory_order_acquire) != generationOf(handle)) return nullptr;
    return object;
  }

  // An object's handle for as long as the Entry lives (a member of the object).
  class Entry {
   public:
    Entry(HandleTable &table, Object *object) : table_(table), value_(table.add(object)) {}
    ~Entry() { table_.remove(value_); }
    Entry(const Entry &) = delete;
    Entry &operator=(const Entry &) = delete;
    uintptr_t value() const { return value_; }

   private:
    HandleTable &table_;
    uintptr_t value_;
  };

  ~HandleTable() {
    for (auto &chunk : chunks_) delete chunk.load(std::memory_order_relaxed);
  }

 private:
  static constexpr int kSlotBits = 24;
  static constexpr uint64_t kGenerationMask = (uint64_t{1} << (64 - kSlotBits)) - 1;

  struct Slot {
    std::atomic<uint64_t> generation{0};
    std::atomic<Object *> object{nullptr};
  };
  using Chunk = std::array<Slot, kSlotsPerChunk>;

  // Slot numbers count from 1, so no handle is 0 (a NULL pointer).
  static uintptr_t pack(uint32_t index, uint64_t generation) {
    return (static_cast<uintptr_t>(generation) << kSlotBits) | (static_cast<uintptr_t>(index) + 1);
  }
  static uint32_t indexOf(uintptr_t handle) {
    return static_cast<uint32_t>(handle & ((uintptr_t{1} << kSlotBits) - 1)) - 1;
  }
  static uint64_t generationOf(uintptr_t handle) { return handle >> kSlotBits; }

  Slot &slot(uint32_t index) {
    return (
        *chunks_[index / kSlotsPerChunk].load(std::memory_order_relaxed))[index % kSlotsPerChunk];
  }

  std::mutex mutex_;
  std::array<std::atomic<Chunk *>, kMaxChunks> chunks_{};
  uint32_t made_ = 0;
  std::deque<uint32_t> free_;
};

static_assert(sizeof(uintptr_t) == 8, "handles pack a slot and a generation into 64 bits");

}  // namespace wharf::plugin
