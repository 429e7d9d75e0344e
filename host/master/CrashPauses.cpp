#include "master/CrashPauses.h"

#include <algorithm>

namespace wharf::master {

std::chrono::milliseconds CrashPauses::crashed(const std::string &listener,
                                               std::chrono::milliseconds uptime) {
  auto now = Clock::now();
  Crashes &crashes = listeners_[listener];
  // It has accepted since its last pause ended, or since the worker started.
  auto since = std::max(crashes.accepting, now - uptime);
  auto pause =
      crashes.backoff.next(std::chrono::duration_cast<std::chrono::milliseconds>(now - since));
  crashes.accepting = now + pause;
  crashes.pausedAt = now;
  return pause;
}

bool CrashPauses::accepted(const std::string &listener, std::chrono::milliseconds uptime) const {
  auto crashes = listeners_.find(listener);
  if (crashes == listeners_.end()) return true;
  auto now = Clock::now();
  bool waitedAllAlong = crashes->second.pausedAt <= now - uptime && crashes->second.accepting > now;
  return !waitedAllAlong;
}

Poco::JSON::Object::Ptr CrashPauses::remaining(const std::vector<std::string> &listeners) const {
  Poco::JSON::Object::Ptr paused = new Poco::JSON::Object;
  auto now = Clock::now();
  for (const auto &name : listeners) {
    auto crashes = listeners_.find(name);
    if (crashes == listeners_.end() || crashes->second.accepting <= now) continue;
    paused->set(
        name, std::chrono::duration_cast<std::chrono::milliseconds>(crashes->second.accepting - now)
                  .count());
  }
  return paused;
}

}  // namespace wharf::master
