#include "net/BusyLoops.h"

#include <algorithm>
#include <mutex>
#include <utility>

namespace wharf::net {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<LoopActivity *> loops;
};

Registry &registry() {
  static Registry loops;
  return loops;
}

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

thread_local LoopActivity *hooksCountAgainst = nullptr;

}  // namespace

HooksCountAgainst::HooksCountAgainst(LoopActivity *loop) noexcept
    : previous_(std::exchange(hooksCountAgainst, loop)) {}

HooksCountAgainst::~HooksCountAgainst() {
  hooksCountAgainst = previous_;
}

LoopActivity *hookLoop() noexcept {
  return hooksCountAgainst;
}

LoopActivity::LoopActivity(std::string name) : name_(std::move(name)) {
  std::lock_guard lock(registry().mutex);
  registry().loops.push_back(this);
}

LoopActivity::~LoopActivity() {
  std::lock_guard lock(registry().mutex);
  std::erase(registry().loops, this);
}

void LoopActivity::dispatching() noexcept {
  busySinceNs_.store(nowNs(), std::memory_order_relaxed);
}

void LoopActivity::waiting() noexcept {
  busySinceNs_.store(0, std::memory_order_relaxed);
}

void LoopActivity::rename(std::string name) {
  std::lock_guard lock(registry().mutex);
  name_ = std::move(name);
}

std::vector<std::string> busyLoops(std::chrono::milliseconds limit) {
  std::vector<std::string> busy;
  int64_t now = nowNs();
  std::lock_guard lock(registry().mutex);
  for (const LoopActivity *loop : registry().loops) {
    int64_t since = loop->busySinceNs_.load(std::memory_order_relaxed);
    auto busyFor = std::chrono::milliseconds((now - since) / 1000000);
    if (since != 0 && busyFor > limit)
      busy.push_back(loop->name_ + " busy for " + std::to_string(busyFor.count()) + " ms");
  }
  return busy;
}

}  // namespace wharf::net
