// Internal. Keeps a flood of similar log lines (refused peers under attack)
// from flooding the log: at most `perSecond` lines each second; the first
// line after a quieter second says how many were left out.
// THREAD: any; internally locked.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace wharf::listener {

// " after N more WHAT not logged" when `leftOut` is N > 0, else empty: what
// every throttled line adds, so each says what was left out the same way.
std::string leftOutNote(uint64_t leftOut, std::string_view what);

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
