#include "session/Traffic.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <new>
#include <system_error>

namespace wharf::session {

static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "counters shared between processes must be lock-free");

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
  double seconds = std::chrono::duration<double>(tally.duration).count();
  size_t bucket = static_cast<size_t>(
      std::lower_bound(kDurationBounds.begin(), kDurationBounds.end(), seconds) -
      kDurationBounds.begin());
  relaxedAdd(durationBuckets_[bucket], 1);
  relaxedAdd(durationSumMicros_,
             static_cast<uint64_t>(
                 std::chrono::duration_cast<std::chrono::microseconds>(tally.duration).count()));
}

}  // namespace wharf::session
