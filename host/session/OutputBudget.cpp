#include "session/OutputBudget.h"

#include <malloc.h>

namespace wharf::session {
namespace {

// malloc_trim walks the whole heap: worth it only after this much was freed.
constexpr size_t kTrimAfter = 16u << 20;

}  // namespace

OutputBudget &OutputBudget::process() {
  static OutputBudget budget;
  return budget;
}

void OutputBudget::returnFreedMemory() {
  if (freed_.load(std::memory_order_relaxed) < kTrimAfter) return;
  freed_.store(0, std::memory_order_relaxed);
  ::malloc_trim(0);
}

}  // namespace wharf::session
