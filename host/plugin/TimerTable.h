// Internal. The timers a plugin started on one session or one instance (SDK
// 1.2): their ids, the limits the header promises, and the rule that a timer
// cancelled from its own callback is released only once that callback has
// returned. It calls no plugin code: it hands back what to run and what to
// release, so its owner can do that outside its lock. Not thread-safe.
#pragma once

#include <wharf/wharf.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace wharf::plugin {

// What plugin timers are due by.
using TimerClock = std::chrono::steady_clock;

// A timer's `release(user)`, to run once it will never run again. Plugin
// code: what a raw C++ callback throws goes no further (it runs in
// destructors and on threads that must outlive it).
struct TimerRelease {
  wharf_dropped_callback release;
  void *user;
  void operator()() const noexcept {
    try {
      if (release != nullptr) release(user);
    } catch (...) {
    }
  }
};

// Unique in the process, for session and instance timers alike: a timer id
// passed with another session's handle names none of that session's timers.
inline uint64_t nextTimerId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

template <typename Callback>
class TimerTable {
 public:
  using Clock = TimerClock;
  static constexpr size_t kMaxTimers = 64;  // running at once, per session or instance
  // A day at the most: a longer delay is a unit mistake, not a plan.
  static constexpr uint64_t kMaxDelayMs = 24ull * 3600 * 1000;

  struct Due {
    uint64_t id;
    Callback callback;
    void *user;
  };

  wharf_status start(uint64_t delayMs, uint64_t repeatMs, Callback callback,
                     wharf_dropped_callback release, void *user, uint64_t *id) {
    if (callback == nullptr) return WHARF_INVALID;
    if (closed_) return WHARF_CLOSED;
    if (delayMs > kMaxDelayMs || repeatMs > kMaxDelayMs) return WHARF_INVALID;
    if (timers_.size() >= kMaxTimers) return WHARF_ERROR;
    uint64_t number = nextTimerId();
    timers_[number] = {Clock::now() + std::chrono::milliseconds(delayMs),
                       std::chrono::milliseconds(repeatMs),
                       callback,
                       {release, user}};
    if (id != nullptr) *id = number;
    return WHARF_OK;
  }

  // WHARF_NOT_FOUND if it fired (one-shot), was cancelled or never was. The
  // release to run comes back in `released`, unless the timer's callback is
  // running: finish() hands it over then.
  wharf_status cancel(uint64_t id, std::optional<TimerRelease> &released) {
    auto found = timers_.find(id);
    if (found == timers_.end()) return WHARF_NOT_FOUND;
    if (id == running_)
      cancelledWhileRunning_ = true;
    else
      released = found->second.release;
    timers_.erase(found);
    return WHARF_OK;
  }

  std::optional<Clock::time_point> nextDue() const {
    if (timers_.empty()) return std::nullopt;
    return std::min_element(
               timers_.begin(), timers_.end(),
               [](const auto &a, const auto &b) { return a.second.due < b.second.due; })
        ->second.due;
  }

  // A timer due at `now`, marked running (a repeating one is due again a
  // period later); call finish() once its callback has returned.
  std::optional<Due> takeDue(Clock::time_point now) {
    auto due = std::find_if(timers_.begin(), timers_.end(),
                            [&](const auto &entry) { return entry.second.due <= now; });
    if (due == timers_.end()) return std::nullopt;
    const Timer &timer = due->second;
    Due taken{due->first, timer.callback, timer.release.user};
    running_ = due->first;
    cancelledWhileRunning_ = false;
    runningRelease_ = timer.release;
    if (timer.repeat.count() > 0)
      due->second.due = now + timer.repeat;
    else
      timers_.erase(due);
    return taken;
  }

  // The running timer's release, if it is over: a one-shot, or cancelled
  // from its callback.
  std::optional<TimerRelease> finish() {
    bool over = cancelledWhileRunning_ || timers_.find(running_) == timers_.end();
    running_ = 0;
    if (!over) return std::nullopt;
    return runningRelease_;
  }

  // Later starts get WHARF_CLOSED; returns the releases of every timer left.
  std::vector<TimerRelease> close() {
    closed_ = true;
    return cancelAll();
  }

  // Cancels every timer; returns their releases.
  std::vector<TimerRelease> cancelAll() {
    if (timers_.count(running_) != 0) runningRelease_ = {};  // released here, not by finish()
    std::vector<TimerRelease> released;
    for (const auto &entry : timers_) released.push_back(entry.second.release);
    timers_.clear();
    return released;
  }

  bool empty() const { return timers_.empty(); }

 private:
  struct Timer {
    Clock::time_point due;
    std::chrono::milliseconds repeat;
    Callback callback;
    TimerRelease release;
  };

  std::map<uint64_t, Timer> timers_;
  uint64_t running_ = 0;  // the timer whose callback runs now
  bool cancelledWhileRunning_ = false;
  TimerRelease runningRelease_{};
  bool closed_ = false;
};

}  // namespace wharf::plugin
