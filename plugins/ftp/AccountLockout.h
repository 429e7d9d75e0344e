// Failed logins counted per account name, across every session of the
// listener: after `maxFailures` within `lockout`, the account is locked for
// `lockout`, and even the right password is refused meanwhile. Per-address
// delays (login_failure_delay) slow one guesser; this stops many addresses
// guessing one account. Counted in this process's memory, or, once shared
// through the listener's zone, in the zone: then every session process
// (mode = fork) and every worker of the listener counts toward one lock.
// Thread-safe.
#pragma once

#include <wharf/wharf_kv.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace ftp {

class AccountLockout {
 public:
  using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC: one clock for every process

  AccountLockout(unsigned maxFailures, std::chrono::seconds lockout)
      : maxFailures_(maxFailures), lockout_(lockout) {}

  // From the listener's constructor: the records live in `shared` from now
  // on (a name the zone has no room for is counted in this process alone).
  void shareThrough(const wharf_kv *shared) { shared_ = shared; }

  bool locked(const std::string &name, Clock::time_point now = Clock::now());
  // Counts a failure; true if it locked the account (to be logged once).
  bool failed(const std::string &name, Clock::time_point now = Clock::now());
  void succeeded(const std::string &name);

 private:
  // Names tracked at once at the most in this process: a spray of made-up
  // names cannot grow memory without bound (the older half of the records
  // goes when full; locked accounts stay). The zone is bounded by its size.
  static constexpr size_t kMaxTracked = 10000;

  struct Record {  // trivially copyable: it is stored in the zone as it is
    unsigned failures = 0;
    Clock::time_point since;        // the first failure counted
    Clock::time_point lockedUntil;  // in the past: not locked
  };

  // Counts a failure in `record`; true if that locked it. Unchanged if it
  // is locked already (its failures were counted).
  bool count(Record &record, Clock::time_point now) const;
  bool failedHere(const std::string &name, Clock::time_point now);
  void forgetOlderHalf(Clock::time_point now);  // under mutex_

  unsigned maxFailures_;  // 0: never lock
  std::chrono::seconds lockout_;
  const wharf_kv *shared_ = nullptr;
  std::mutex mutex_;
  std::map<std::string, Record> records_;
};

}  // namespace ftp
