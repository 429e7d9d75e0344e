#include "listener/LogThrottle.h"

namespace wharf::listener {

std::string leftOutNote(uint64_t leftOut, std::string_view what) {
  if (leftOut == 0) return "";
  return " after " + std::to_string(leftOut) + " more " + std::string(what) + " not logged";
}

std::optional<uint64_t> LogThrottle::admit(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (now - windowStart_ >= std::chrono::seconds(1)) {
    windowStart_ = now;
    logged_ = 0;
  }
  if (logged_ >= perSecond_) {
    ++suppressed_;
    return std::nullopt;
  }
  ++logged_;
  uint64_t leftOut = suppressed_;
  suppressed_ = 0;
  return leftOut;
}

}  // namespace wharf::listener
