// Internal. Something running a session that can be ended from outside, from
// any thread: a session served in this process, or a fork child serving one.
#pragma once

#include <chrono>
#include <optional>

namespace wharf::session {

class Cuttable {
 public:
  virtual ~Cuttable() = default;
  // THREAD: any. Ends the session soon; a blocked read or write returns. A
  // session whose plugin owns the socket first only loses its input (the
  // plugin sees the end and may still answer, as FTP's 421 does); a second
  // call closes both ways.
  virtual void cut() = 0;
};

// Where a group of sessions past its deadline is: asked to end (a first cut),
// then, if some are still there after kForceAfter, forced (a second cut).
class CutProgress {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kForceAfter{2};
  enum class Step { None, Ask, Force };

  // The step due now for a group whose deadline has passed.
  Step next(Clock::time_point now) {
    if (!askedAt_) {
      askedAt_ = now;
      return Step::Ask;
    }
    if (forced_ || now - *askedAt_ < kForceAfter) return Step::None;
    forced_ = true;
    return Step::Force;
  }
  bool asked() const { return askedAt_.has_value(); }

 private:
  std::optional<Clock::time_point> askedAt_;
  bool forced_ = false;
};

}  // namespace wharf::session
