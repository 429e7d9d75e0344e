// Internal. Keeps a flood of similar log lines (refused peers under attack)
// from flooding the log: at most `perSecond` lines each second; the first
// line after a quieter second says how many were left out.
// THREAD: any; internally locked.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace wharf::listener {

class LogThrottle {
 public:
  explicit LogThrottle(uint32_t perSecond) : perSecond_(perSecond) {}

  // nullopt: leave this line out. Otherwise log it, adding the count of
  // lines left out before it when that is not zero.
  std::optional<uint64_t> admit(
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  const uint32_t perSecond_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point windowStart_{};
  uint32_t logged_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace wharf::listener
