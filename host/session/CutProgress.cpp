#include "session/CutProgress.h"

namespace wharf::session {

std::optional<std::string> CutProgress::advance(Clock::time_point now, std::string_view reason,
                                                std::string_view which,
                                                const std::function<size_t()> &cut) {
  if (!askedAt_) {
    askedAt_ = now;
    return std::string(reason) + ": closing " + std::to_string(cut()) + " " + std::string(which);
  }
  if (forced_ || now - *askedAt_ < kForceAfter) return std::nullopt;
  forced_ = true;
  return std::string(reason) + ": " + std::to_string(cut()) + " " + std::string(which) +
         " after being closed: closing their sockets";
}

}  // namespace wharf::session
