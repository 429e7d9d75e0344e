// Failed logins counted per account name, across every session of the
// listener (in one worker process): after `maxFailures` within `lockout`,
// the account is locked for `lockout`, and even the right password is
// refused meanwhile. Per-address delays (login_failure_delay) slow one
// guesser; this stops many addresses guessing one account. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace ftp {

class AccountLockout {
 public:
  using Clock = std::chrono::steady_clock;

  AccountLockout(unsigned maxFailures, std::chrono::seconds lockout)
      : maxFailures_(maxFailures), lockout_(lockout) {}

  bool locked(const std::string &name, Clock::time_point now = Clock::now());
  // Counts a failure; true if it locked the account (to be logged once).
  bool failed(const std::string &name, Clock::time_point now = Clock::now());
  void succeeded(const std::string &name);

 private:
  // Names tracked at once at the most: a spray of made-up names cannot grow
  // memory without bound (the older half of the records goes when full;
  // locked accounts stay).
  static constexpr size_t kMaxTracked = 10000;

  struct Record {
    unsigned failures = 0;
    Clock::time_point since;        // the first failure counted
    Clock::time_point lockedUntil;  // in the past: not locked
  };

  void forgetOlderHalf(Clock::time_point now);  // under mutex_

  unsigned maxFailures_;  // 0: never lock
  std::chrono::seconds lockout_;
  std::mutex mutex_;
  std::map<std::string, Record> records_;
};

}  // namespace ftp
