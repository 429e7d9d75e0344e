// Failed logins counted per account name, across every session of the
// listener: after `maxFailures` within `lockout`, the account is locked for
// `lockout`, and even the right password is refused meanwhile. Per-address
// delays (login_failure_delay) slow one guesser; this stops many addresses
// guessing one account. Counted in this process's memory, or, once shared
// through the listener's zone, the accounts that exist are counted in the
// zone: then every session process (mode = fork) and every worker of the
// listener counts toward one lock. Names that are no account stay in each
// process's memory (they cannot log in; a spray of them cannot fill the
// zone). Thread-safe.
#pragma once

#include <wharf/wharf_kv.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>

namespace ftp {

class AccountLockout {
 public:
  using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC: one clock for every process

  AccountLockout(unsigned maxFailures, std::chrono::seconds lockout)
      : maxFailures_(maxFailures), lockout_(lockout) {}

  // From the listener's constructor: accounts' records live in `shared` from
  // now on (one the zone has no room for is counted in this process alone).
  void shareThrough(const wharf_kv *shared) { shared_ = shared; }

  bool locked(const std::string &name, Clock::time_point now = Clock::now());
  // Counts a failure of `name`, an account or not (`account`); true if it
  // locked it (to be logged once).
  bool failed(const std::string &name, bool account, Clock::time_point now = Clock::now());
  void succeeded(const std::string &name);

 private:
  // Names tracked at once at the most in this process: a spray of made-up
  // names cannot grow memory without bound (the older half of the records
  // goes when full; locked accounts stay). The zone is bounded by its size.
  static constexpr size_t kMaxTracked = 10000;

  // Kept as it is in the zone too: fixed widths and no padding, under a key
  // prefix that names this layout (a later one would not misread it).
  struct Record {
    uint64_t failures = 0;
    Clock::time_point since;        // the first failure counted
    Clock::time_point lockedUntil;  // in the past: not locked
  };
  static_assert(std::is_trivially_copyable_v<Record> && sizeof(Record) == 3 * sizeof(int64_t));

  // Counts a failure in `record`; true if that locked it. Unchanged if it
  // is locked already (its failures were counted).
  bool count(Record &record, Clock::time_point now) const;
  bool failedShared(const std::string &name, Clock::time_point now);
  bool failedHere(const std::string &name, Clock::time_point now);
  void forgetOlderHalf(Clock::time_point now);  // under mutex_

  unsigned maxFailures_;  // 0: never lock
  std::chrono::seconds lockout_;
  const wharf_kv *shared_ = nullptr;
  std::mutex mutex_;
  std::map<std::string, Record> records_;
};

}  // namespace ftp
