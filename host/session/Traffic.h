// Internal. What a listener's finished sessions amount to: bytes each way,
// hook errors, how they ended and how long they lasted. A session counts in
// plain members of its own while it runs and adds them here when it ends,
// so the hot path shares no cache line with other sessions; a long one adds
// its bytes each second too (Session), so a long transfer shows as it flows.
//
// The counters live in a shared anonymous mapping made before the listener
// forks anything: a `fork` listener's session processes add to the same
// counters as its threads would. THREAD: any; lock-free.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "tls/Handshakes.h"

namespace wharf::session {

// How a session ended, as the access log and the metrics name it.
enum class Ending {
  Client,        // the peer closed or went away
  Plugin,        // the plugin closed it (or its serve() returned)
  IdleTimeout,   // no traffic either way within idle_timeout
  SendTimeout,   // reactor: the peer took none of its waiting output within send_timeout
  OverBudget,    // reactor: past [host] output_budget, cut as a peer that reads none of its output
  Cut,           // cut by a deadline: shutdown, drain, SIGQUIT
  Error,         // a hook failed or the host ran out of something
  TlsHandshake,  // tls = on: the handshake failed, or did not end within tls_handshake_timeout
  Count
};
const char *endingName(Ending ending);  // "client", "plugin", "idle_timeout", ...

// What a reload's live migration (migrate = on) did with a session of an
// older generation.
enum class Migrated {
  Moved,    // the new code serves it
  Refused,  // its old code would not export it, or the new code would not import it
  Left,     // not quiescent within migrate_timeout: it stays on its generation
  Count
};
const char *migratedName(Migrated outcome);  // "moved", "refused", "left"

// Upper bounds (seconds) of the session duration histogram's buckets; one
// more bucket, +Inf, follows. At least 1-2-5 in each decade, in minutes and
// hours past 10 s; every bound of the decade buckets before them is one
// (master/StatusMerge converts an upgrade's old workers' counts).
inline constexpr std::array<double, 23> kDurationBounds{
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2,  0.5,  1,    2,   5,
    10,    20,    30,    60,   120,  300,  600, 1200, 1800, 3600, 7200};
// The same for how long a reactor loop's batches of events held it (its lag).
inline constexpr std::array<double, 14> kLoopLagBounds{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct ByteCount {
  uint64_t in = 0;
  uint64_t out = 0;
};

struct SessionTally {
  uint64_t bytesIn = 0;
  uint64_t bytesOut = 0;
  uint64_t hookErrors = 0;
  Ending ending = Ending::Plugin;
  std::chrono::nanoseconds duration{0};
};

class Traffic {
 public:
  // Maps the counters, zeroed. Throws std::system_error if mmap fails.
  static std::shared_ptr<Traffic> create();

  // A session ended; `counted`: of its bytes, those addBytes() has added.
  void add(const SessionTally &tally, ByteCount counted = {}) noexcept;
  // Bytes of a session still running.
  void addBytes(ByteCount bytes) noexcept {
    relaxedAdd(bytesIn_, bytes.in);
    relaxedAdd(bytesOut_, bytes.out);
  }
  void countDroppedLogLine() noexcept { relaxedAdd(accessLogDropped_, 1); }
  // A reactor loop handled a batch of events in `held`.
  void addLoopLag(std::chrono::nanoseconds held) noexcept;
  // tls = on: a handshake ended, agreeing on `version` (`resumed`: a
  // session from an earlier connection, by its ticket), or failing.
  void addTlsHandshake(tls::Version version, bool resumed) noexcept {
    relaxedAdd(tlsHandshakes_[static_cast<size_t>(version)], 1);
    if (resumed) relaxedAdd(tlsResumed_[static_cast<size_t>(version)], 1);
  }
  void addTlsFailure(tls::Failure failure) noexcept {
    relaxedAdd(tlsFailures_[static_cast<size_t>(failure)], 1);
  }
  void addMigrated(Migrated outcome, uint64_t sessions) noexcept {
    relaxedAdd(migrated_[static_cast<size_t>(outcome)], sessions);
  }

  uint64_t bytesIn() const { return load(bytesIn_); }
  uint64_t bytesOut() const { return load(bytesOut_); }
  uint64_t hookErrors() const { return load(hookErrors_); }
  uint64_t ended(Ending ending) const { return load(ended_[static_cast<size_t>(ending)]); }
  // Sessions in bucket `index` (not cumulative); index kDurationBounds.size() is +Inf.
  uint64_t durationBucket(size_t index) const { return load(durationBuckets_[index]); }
  uint64_t durationSumMicros() const { return load(durationSumMicros_); }
  uint64_t accessLogDropped() const { return load(accessLogDropped_); }
  uint64_t loopLagBucket(size_t index) const { return load(loopLagBuckets_[index]); }
  uint64_t loopLagSumMicros() const { return load(loopLagSumMicros_); }
  uint64_t loopBatches() const { return load(loopBatches_); }
  uint64_t tlsHandshakes(tls::Version version) const {
    return load(tlsHandshakes_[static_cast<size_t>(version)]);
  }
  uint64_t tlsResumed(tls::Version version) const {
    return load(tlsResumed_[static_cast<size_t>(version)]);
  }
  uint64_t tlsFailures(tls::Failure failure) const {
    return load(tlsFailures_[static_cast<size_t>(failure)]);
  }
  uint64_t migrated(Migrated outcome) const {
    return load(migrated_[static_cast<size_t>(outcome)]);
  }

 private:
  Traffic() = default;
  static void relaxedAdd(std::atomic<uint64_t> &counter, uint64_t amount) {
    counter.fetch_add(amount, std::memory_order_relaxed);
  }
  static uint64_t load(const std::atomic<uint64_t> &counter) {
    return counter.load(std::memory_order_relaxed);
  }

  std::atomic<uint64_t> bytesIn_{0};
  std::atomic<uint64_t> bytesOut_{0};
  std::atomic<uint64_t> hookErrors_{0};
  std::atomic<uint64_t> ended_[static_cast<size_t>(Ending::Count)] = {};
  std::atomic<uint64_t> durationBuckets_[kDurationBounds.size() + 1] = {};
  std::atomic<uint64_t> durationSumMicros_{0};
  std::atomic<uint64_t> accessLogDropped_{0};
  std::atomic<uint64_t> loopLagBuckets_[kLoopLagBounds.size() + 1] = {};
  std::atomic<uint64_t> loopLagSumMicros_{0};
  std::atomic<uint64_t> loopBatches_{0};
  std::atomic<uint64_t> tlsHandshakes_[static_cast<size_t>(tls::Version::Count)] = {};
  std::atomic<uint64_t> tlsResumed_[static_cast<size_t>(tls::Version::Count)] = {};
  std::atomic<uint64_t> tlsFailures_[static_cast<size_t>(tls::Failure::Count)] = {};
  std::atomic<uint64_t> migrated_[static_cast<size_t>(Migrated::Count)] = {};
};

}  // namespace wharf::session
