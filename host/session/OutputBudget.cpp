#include "session/OutputBudget.h"

#include <malloc.h>

#include <chrono>

namespace wharf::session {
namespace {

// malloc_trim walks (and locks) every arena: worth it only after this much
// was freed, and at most this often, however fast a flood frees buffers.
constexpr size_t kTrimAfter = 16u << 20;
constexpr auto kTrimEvery = std::chrono::seconds(10);

}  // namespace

OutputBudget &OutputBudget::process() {
  static OutputBudget budget;
  return budget;
}

void OutputBudget::returnFreedMemory() {
  if (freed_.load(std::memory_order_relaxed) < kTrimAfter) return;
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto last = lastTrim_.load(std::memory_order_relaxed);
  if (last != 0 && now - last < std::chrono::steady_clock::duration(kTrimEvery).count()) return;
  if (!lastTrim_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  freed_.store(0, std::memory_order_relaxed);
  ::malloc_trim(0);
}

}  // namespace wharf::session
