#include "AccountLockout.h"

#include <algorithm>

namespace ftp {

bool AccountLockout::locked(const std::string &name, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = records_.find(name);
  return found != records_.end() && found->second.lockedUntil > now;
}

bool AccountLockout::failed(const std::string &name, Clock::time_point now) {
  if (maxFailures_ == 0) return false;
  std::lock_guard lock(mutex_);
  if (records_.size() >= kMaxTracked && !records_.contains(name)) {
    auto oldest = std::min_element(records_.begin(), records_.end(), [](auto &a, auto &b) {
      return a.second.since < b.second.since;
    });
    records_.erase(oldest);
  }
  Record &record = records_[name];
  if (record.lockedUntil > now) return false;  // counted already
  if (record.failures == 0 || now - record.since > lockout_) {
    record.failures = 0;
    record.since = now;
  }
  if (++record.failures < maxFailures_) return false;
  record.failures = 0;
  record.lockedUntil = now + lockout_;
  return true;
}

void AccountLockout::succeeded(const std::string &name) {
  std::lock_guard lock(mutex_);
  records_.erase(name);
}

}  // namespace ftp
