#include "master/ZoneSpace.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "zone/ZoneRegistry.h"

namespace wharf::master {

ZoneSpace::ZoneSpace() : space_(zone::ZoneRegistry::spaceOf(::getpid())) {
  ::setenv(zone::kZoneSpaceVariable, space_.c_str(), 1);
}

size_t ZoneSpace::removeZones() const {
  size_t removed = 0;
  std::error_code error;
  for (const auto &entry : std::filesystem::directory_iterator("/dev/shm", error)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(space_ + ".") && ::shm_unlink(("/" + name).c_str()) == 0) ++removed;
  }
  return removed;
}

}  // namespace wharf::master
