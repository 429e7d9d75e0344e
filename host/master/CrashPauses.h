// Internal. The listeners whose plugin crashed a worker, and how long each
// waits before it accepts again in the worker that replaces it: the doubling
// of CrashBackoff, for that listener alone. The worker itself is replaced at
// once, so one remote client that crashes one plugin cannot keep the other
// listeners of its group down.
#pragma once

#include <Poco/JSON/Object.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "master/CrashBackoff.h"

namespace wharf::master {

class CrashPauses {
 public:
  using Clock = std::chrono::steady_clock;

  // `listener`'s plugin crashed a worker that had run for `uptime`: how long
  // the listener waits in its replacement (none after it served kStable).
  std::chrono::milliseconds crashed(const std::string &listener, std::chrono::milliseconds uptime);
  // Whether `listener` can have run a session hook in a worker that ran
  // `uptime` until now: not if it waited all that time. A crash page that
  // names it anyway was written by a plugin, to escape the slot's backoff.
  bool accepted(const std::string &listener, std::chrono::milliseconds uptime) const;
  // Which of `listeners` still wait, and for how many ms (a "serve" request's
  // "paused").
  Poco::JSON::Object::Ptr remaining(const std::vector<std::string> &listeners) const;

 private:
  struct Crashes {
    CrashBackoff backoff;
    Clock::time_point accepting;  // when its last pause ends (ended)
    Clock::time_point pausedAt;   // when that pause was decided
  };
  std::map<std::string, Crashes> listeners_;
};

}  // namespace wharf::master
