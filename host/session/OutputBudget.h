// Internal. The memory every reactor session of this process holds for
// output its peer has not read (OutputQueue's buffers), against [host]
// output_budget.
// Past it, the reactor loops cut the sessions whose peers have stopped
// reading, biggest first (ReactorDispatcher), so peers that send and never
// read cannot push a worker past a memory bound. THREAD: any; lock-free.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace wharf::session {

class OutputBudget {
 public:
  static OutputBudget &process();

  void setLimit(size_t bytes) { limit_.store(bytes, std::memory_order_relaxed); }
  size_t limit() const { return limit_.load(std::memory_order_relaxed); }
  size_t held() const { return held_.load(std::memory_order_relaxed); }
  bool exceeded() const { return held() > limit(); }

  void take(size_t bytes) { held_.fetch_add(bytes, std::memory_order_relaxed); }
  void giveBack(size_t bytes) { held_.fetch_sub(bytes, std::memory_order_relaxed); }
  // A queue freed a buffer this large: once enough has been freed, the heap
  // is trimmed (returnFreedMemory), or a worker that served a flood keeps its
  // peak size for good.
  void noteFreed(size_t bytes) { freed_.fetch_add(bytes, std::memory_order_relaxed); }
  void returnFreedMemory();

 private:
  std::atomic<size_t> limit_{static_cast<size_t>(-1)};
  std::atomic<size_t> held_{0};
  std::atomic<size_t> freed_{0};
  std::atomic<int64_t> lastTrim_{0};  // steady_clock ticks; 0: never
};

}  // namespace wharf::session
