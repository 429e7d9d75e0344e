// Internal. Which event loops of this process are stuck in one batch of
// events (a plugin hook that never returns, a loop in plugin code): every
// EventLoop is listed here while it exists and says when it starts and ends
// dispatching, and a worker's heartbeat asks before it answers the master.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace wharf::net {

// One loop's entry: its name and since when it has been dispatching.
class LoopActivity {
 public:
  explicit LoopActivity(std::string name);
  ~LoopActivity();
  LoopActivity(const LoopActivity &) = delete;
  LoopActivity &operator=(const LoopActivity &) = delete;

  // THREAD: the loop's.
  void dispatching() noexcept;
  void waiting() noexcept;
  bool isDispatching() const noexcept { return busySinceNs_.load(std::memory_order_relaxed) != 0; }
  void rename(std::string name);

 private:
  friend std::vector<std::string> busyLoops(std::chrono::milliseconds limit);

  std::string name_;                     // under the registry's lock
  std::atomic<int64_t> busySinceNs_{0};  // steady clock; 0: waiting for events
};

// For its scope, every plugin hook that runs on this thread counts as
// `loop`'s dispatching (plugin::RunningHook asks hookLoop()): for a loop
// that serves its sessions in place (mode = sync), so a hook that never
// returns is found, while a session waiting for its peer between hooks is
// not. Null: none counts (a blocking plugin's serve(), which waits for its
// peer inside the hook). The previous one is back at the end of the scope.
class HooksCountAgainst {
 public:
  explicit HooksCountAgainst(LoopActivity *loop) noexcept;
  ~HooksCountAgainst();
  HooksCountAgainst(const HooksCountAgainst &) = delete;
  HooksCountAgainst &operator=(const HooksCountAgainst &) = delete;

 private:
  LoopActivity *previous_;
};
// THREAD: any. The loop hooks on this thread count against (null: none).
LoopActivity *hookLoop() noexcept;

// THREAD: any. "NAME busy for N ms" for each loop that has been in one batch
// of events longer than `limit`.
std::vector<std::string> busyLoops(std::chrono::milliseconds limit);

}  // namespace wharf::net
