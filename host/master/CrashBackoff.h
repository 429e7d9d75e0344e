// Internal. How long the master waits before replacing a worker that died:
// at once after a worker that ran a while (kStable), then, while
// replacements keep dying young, 100 ms doubling up to kMaxDelay. A crash
// loop is slowed down, never a busy loop.
#pragma once

#include <chrono>

namespace wharf::master {

class CrashBackoff {
 public:
  static constexpr std::chrono::milliseconds kStable{10000};
  static constexpr std::chrono::milliseconds kFirstDelay{100};
  static constexpr std::chrono::milliseconds kMaxDelay{30000};

  // The delay before replacing a worker that died after running `uptime`.
  std::chrono::milliseconds next(std::chrono::milliseconds uptime);

 private:
  std::chrono::milliseconds delay_{0};
};

}  // namespace wharf::master
