// Internal. The shared zones this process maps (SDK 1.2), by name: a reload's
// new instance that declares a zone an old generation still maps gets that
// same mapping. Zone names are global to the daemon: a name belongs to the
// first listener that declares it. Objects are named "/SPACE.NAME.LAYOUT",
// SPACE being the master's (WHARF_ZONE_SPACE), so every worker opens the
// same ones and the master removes them all when it stops.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "zone/SharedZone.h"

namespace wharf::zone {

constexpr uint64_t kMinZoneSize = 64 * 1024;
constexpr uint64_t kMaxZoneSize = 1ull << 30;  // 1 GiB
constexpr size_t kMaxZonesPerInstance = 16;
constexpr const char *kZoneSpaceVariable = "WHARF_ZONE_SPACE";

class ZoneRegistry {
 public:
  static ZoneRegistry &instance();

  // A new space for the master with pid `master`: wharf_PID_RANDOM, 64 bits
  // from getrandom, so that another local user cannot predict the names
  // and make them first (which refused wharfd's start).
  static std::string newSpace(pid_t master);
  // The master's space: from WHARF_ZONE_SPACE, else this process's own.
  static std::string space();

  // THREAD: any. Checks the request (name, size: rounded up to a page) and
  // gives the zone; throws ZoneError with the reason.
  std::shared_ptr<SharedZone> declare(ZoneRequest request, bool &fresh);

 private:
  std::mutex mutex_;
  std::map<std::pair<std::string, uint32_t>, std::weak_ptr<SharedZone>> zones_;
};

}  // namespace wharf::zone
