// Internal. The master's part in shared zones (SDK 1.2): it names the space
// its workers' zones live in (WHARF_ZONE_SPACE, wharf_PID_RANDOM, inherited
// by every worker and kept across a binary upgrade, which keeps the
// master's pid), and removes what is left of them when it stops. A master
// killed outright leaves them in /dev/shm as wharf_PID_RANDOM.*.
#pragma once

#include <string>

namespace wharf::master {

class ZoneSpace {
 public:
  // Sets WHARF_ZONE_SPACE to this master's space.
  ZoneSpace();
  // THREAD: main, once the workers have exited. Removes every zone of the
  // space but those kept aside as corrupt (for the operator); returns how many.
  size_t removeZones() const;

 private:
  std::string space_;
};

}  // namespace wharf::master
