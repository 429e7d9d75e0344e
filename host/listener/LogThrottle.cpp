#include "listener/LogThrottle.h"

namespace wharf::listener {

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
