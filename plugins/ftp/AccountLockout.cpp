#include "AccountLockout.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace ftp {
namespace {

std::string sharedKey(const std::string &name) {
  return "lockout1:" + name;
}

}  // namespace

bool AccountLockout::count(Record &record, Clock::time_point now) const {
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

bool AccountLockout::locked(const std::string &name, Clock::time_point now) {
  if (shared_ != nullptr) {
    Record record;
    size_t length = 0;
    std::string key = sharedKey(name);
    if (wharf_kv_get(shared_, key.data(), key.size(), &record, sizeof record, &length) ==
            WHARF_OK &&
        length == sizeof record && record.lockedUntil > now)
      return true;
  }
  std::lock_guard lock(mutex_);
  auto found = records_.find(name);
  return found != records_.end() && found->second.lockedUntil > now;
}

bool AccountLockout::failed(const std::string &name, bool account, Clock::time_point now) {
  if (maxFailures_ == 0) return false;
  if (shared_ == nullptr || !account) return failedHere(name, now);
  return failedShared(name, now);
}

bool AccountLockout::failedShared(const std::string &name, Clock::time_point now) {
  struct Update {
    const AccountLockout &lockout;
    Clock::time_point now;
    bool lockedNow = false;
  } update{*this, now};
  auto decide = [](void *user, const void *old, size_t oldLength, int found, void *value,
                   size_t capacity, size_t *length) {
    auto &update = *static_cast<Update *>(user);
    Record record;
    if (found != 0 && oldLength == sizeof record) std::memcpy(&record, old, sizeof record);
    if (capacity < sizeof record) return WHARF_KV_KEEP;
    update.lockedNow = update.lockout.count(record, update.now);
    std::memcpy(value, &record, sizeof record);
    *length = sizeof record;
    return WHARF_KV_WRITE;
  };
  std::string key = sharedKey(name);
  if (wharf_kv_update(shared_, key.data(), key.size(), sizeof(Record), decide, &update) != WHARF_OK)
    return failedHere(name, now);  // no room in the zone: counted here
  return update.lockedNow;
}

bool AccountLockout::failedHere(const std::string &name, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (records_.size() >= kMaxTracked && !records_.contains(name)) forgetOlderHalf(now);
  return count(records_[name], now);
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
  if (shared_ != nullptr) {
    std::string key = sharedKey(name);
    wharf_kv_delete(shared_, key.data(), key.size());
  }
  std::lock_guard lock(mutex_);
  records_.erase(name);
}

}  // namespace ftp
