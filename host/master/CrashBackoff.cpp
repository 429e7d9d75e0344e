#include "master/CrashBackoff.h"

#include <algorithm>

namespace wharf::master {

std::chrono::milliseconds CrashBackoff::next(std::chrono::milliseconds uptime) {
  if (uptime >= kStable) delay_ = std::chrono::milliseconds(0);
  std::chrono::milliseconds now = delay_;
  delay_ = delay_.count() == 0 ? kFirstDelay : std::min(delay_ * 2, kMaxDelay);
  return now;
}

}  // namespace wharf::master
