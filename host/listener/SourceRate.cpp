#include "listener/SourceRate.h"

#include <algorithm>

namespace wharf::listener {

bool SourceRate::allow(const std::string &source, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto bucket = buckets_.find(source);
  if (bucket == buckets_.end()) {
    if (buckets_.size() >= kMaxTrackedSources) forgetQuietSources(now);
    if (buckets_.size() >= kMaxTrackedSources) return true;  // uncounted while full
    bucket = buckets_.emplace(source, Bucket{burst_, now}).first;
  }
  double elapsed = std::chrono::duration<double>(now - bucket->second.refilled).count();
  bucket->second.refilled = now;
  bucket->second.tokens = std::min(burst_, bucket->second.tokens + elapsed * perSecond_);
  if (bucket->second.tokens < 1) return false;
  bucket->second.tokens -= 1;
  return true;
}

size_t SourceRate::tracked() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

// A bucket refilled for a second is full again: forgetting it changes nothing.
void SourceRate::forgetQuietSources(Clock::time_point now) {
  if (now - lastSweep_ < std::chrono::seconds(1)) return;
  lastSweep_ = now;
  std::erase_if(buckets_, [&](const auto &entry) {
    return now - entry.second.refilled >= std::chrono::seconds(1);
  });
}

}  // namespace wharf::listener
