#include "session/Traffic.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <new>
#include <system_error>

namespace wharf::session {

static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "counters shared between processes must be lock-free");

// Bounds in nanoseconds: a bucket without floating point.
template <size_t N>
constexpr std::array<int64_t, N> inNanos(const std::array<double, N> &bounds) {
  std::array<int64_t, N> nanos{};
  for (size_t i = 0; i < N; ++i) nanos[i] = static_cast<int64_t>(bounds[i] * 1e9 + 0.5);
  return nanos;
}
constexpr auto kBoundsNanos = inNanos(kDurationBounds);
constexpr auto kLagNanos = inNanos(kLoopLagBounds);

template <size_t N>
size_t bucketOf(const std::array<int64_t, N> &bounds, std::chrono::nanoseconds value) {
  size_t bucket = 0;
  while (bucket < N && value.count() > bounds[bucket]) ++bucket;
  return bucket;
}

uint64_t micros(std::chrono::nanoseconds value) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(value).count());
}

const char *migratedName(Migrated outcome) {
  switch (outcome) {
    case Migrated::Moved:
      return "moved";
    case Migrated::Refused:
      return "refused";
    default:
      return "left";
  }
}

const char *endingName(Ending ending) {
  switch (ending) {
    case Ending::Client:
      return "client";
    case Ending::Plugin:
      return "plugin";
    case Ending::IdleTimeout:
      return "idle_timeout";
    case Ending::SendTimeout:
      return "send_timeout";
    case Ending::OverBudget:
      return "output_budget";
    case Ending::Cut:
      return "cut";
    case Ending::Error:
      return "error";
    case Ending::TlsHandshake:
      return "tls_handshake";
    case Ending::Count:
      break;
  }
  return "?";
}

std::shared_ptr<Traffic> Traffic::create() {
  void *memory =
      ::mmap(nullptr, sizeof(Traffic), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(), "mapping a listener's counters");
  return std::shared_ptr<Traffic>(new (memory) Traffic, [](Traffic *traffic) {
    traffic->~Traffic();
    ::munmap(traffic, sizeof(Traffic));
  });
}

void Traffic::add(const SessionTally &tally, ByteCount counted) noexcept {
  // A plugin that used the socket itself reports the kernel's totals at the
  // end, which hold what was counted before.
  relaxedAdd(bytesIn_, tally.bytesIn - std::min(counted.in, tally.bytesIn));
  relaxedAdd(bytesOut_, tally.bytesOut - std::min(counted.out, tally.bytesOut));
  if (tally.hookErrors != 0) relaxedAdd(hookErrors_, tally.hookErrors);
  relaxedAdd(ended_[static_cast<size_t>(tally.ending)], 1);
  relaxedAdd(durationBuckets_[bucketOf(kBoundsNanos, tally.duration)], 1);
  relaxedAdd(durationSumMicros_, micros(tally.duration));
}

void Traffic::addLoopLag(std::chrono::nanoseconds held) noexcept {
  relaxedAdd(loopLagBuckets_[bucketOf(kLagNanos, held)], 1);
  relaxedAdd(loopLagSumMicros_, micros(held));
  relaxedAdd(loopBatches_, 1);
}

}  // namespace wharf::session
