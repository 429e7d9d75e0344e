#include "session/Traffic.h"

#include <sys/mman.h>

#include <cerrno>
#include <new>
#include <system_error>

namespace wharf::session {

static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "counters shared between processes must be lock-free");

// kDurationBounds in nanoseconds: a session's bucket without floating point.
constexpr auto kBoundsNanos = [] {
  std::array<int64_t, kDurationBounds.size()> nanos{};
  for (size_t i = 0; i < nanos.size(); ++i)
    nanos[i] = static_cast<int64_t>(kDurationBounds[i] * 1e9 + 0.5);
  return nanos;
}();

const char *endingName(Ending ending) {
  switch (ending) {
    case Ending::Client:
      return "client";
    case Ending::Plugin:
      return "plugin";
    case Ending::IdleTimeout:
      return "idle_timeout";
    case Ending::Cut:
      return "cut";
    case Ending::Error:
      return "error";
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

void Traffic::add(const SessionTally &tally) noexcept {
  relaxedAdd(bytesIn_, tally.bytesIn);
  relaxedAdd(bytesOut_, tally.bytesOut);
  if (tally.hookErrors != 0) relaxedAdd(hookErrors_, tally.hookErrors);
  relaxedAdd(ended_[static_cast<size_t>(tally.ending)], 1);
  size_t bucket = 0;
  while (bucket < kBoundsNanos.size() && tally.duration.count() > kBoundsNanos[bucket]) ++bucket;
  relaxedAdd(durationBuckets_[bucket], 1);
  relaxedAdd(durationSumMicros_,
             static_cast<uint64_t>(
                 std::chrono::duration_cast<std::chrono::microseconds>(tally.duration).count()));
}

}  // namespace wharf::session
