// Internal. Closing a group of sessions past its deadline (shutdown_timeout,
// drain_timeout, max_generations) takes two steps: a first cut asks them to
// end (a plugin that owns its socket only loses its input, and may still
// answer), and a second, if some are still there kForceAfter later, closes
// their sockets both ways. Each step is logged.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace wharf::session {

class CutProgress {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kForceAfter{2};

  // For a group whose deadline has passed: takes the step due at `now`, if
  // any, with `cut` (which cuts the group and returns how many sessions it
  // holds), and returns the line to log, e.g. "shutdown_timeout: closing 2
  // remaining sessions". `which` names the sessions ("remaining sessions").
  std::optional<std::string> advance(Clock::time_point now, std::string_view reason,
                                     std::string_view which, const std::function<size_t()> &cut);

 private:
  std::optional<Clock::time_point> askedAt_;
  bool forced_ = false;
};

}  // namespace wharf::session
