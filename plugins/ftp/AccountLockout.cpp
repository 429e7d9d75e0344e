#include "AccountLockout.h"

#include <algorithm>
#include <vector>

namespace ftp {

bool AccountLockout::locked(const std::string &name, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = records_.find(name);
  return found != records_.end() && found->second.lockedUntil > now;
}

bool AccountLockout::failed(const std::string &name, Clock::time_point now) {
  if (maxFailures_ == 0) return false;
  std::lock_guard lock(mutex_);
  if (records_.size() >= kMaxTracked && !records_.contains(name)) forgetOlderHalf(now);
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

// Amortized: one pass every kMaxTracked / 2 new names, not one per name.
void AccountLockout::forgetOlderHalf(Clock::time_point now) {
  std::vector<Clock::time_point> starts;
  for (const auto &[name, record] : records_) starts.push_back(record.since);
  auto middle = starts.begin() + static_cast<std::ptrdiff_t>(starts.size() / 2);
  std::nth_element(starts.begin(), middle, starts.end());
  Clock::time_point cut = *middle;
  std::erase_if(records_, [&](const auto &entry) {
    return entry.second.since <= cut && entry.second.lockedUntil <= now;  // locks stay
  });
  if (records_.size() >= kMaxTracked)  // all locked: the bound wins over old locks
    std::erase_if(records_, [&](const auto &entry) { return entry.second.since <= cut; });
}

void AccountLockout::succeeded(const std::string &name) {
  std::lock_guard lock(mutex_);
  records_.erase(name);
}

}  // namespace ftp
