#include "master/ZoneSpace.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "zone/ZoneRegistry.h"

namespace wharf::master {

namespace {

// After a binary upgrade the master (same pid) keeps the space it had.
std::string spaceOfThisMaster() {
  std::string mine = "wharf_" + std::to_string(::getpid()) + "_";
  const char *inherited = std::getenv(zone::kZoneSpaceVariable);
  if (inherited != nullptr && std::string_view(inherited).starts_with(mine)) return inherited;
  return zone::ZoneRegistry::newSpace(::getpid());
}

}  // namespace

ZoneSpace::ZoneSpace() : space_(spaceOfThisMaster()) {
  ::setenv(zone::kZoneSpaceVariable, space_.c_str(), 1);
}

size_t ZoneSpace::removeZones() const {
  size_t removed = 0;
  std::error_code error;
  for (const auto &entry : std::filesystem::directory_iterator("/dev/shm", error)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(space_ + ".") && !name.ends_with(".corrupt") &&
        ::shm_unlink(("/" + name).c_str()) == 0)
      ++removed;
  }
  return removed;
}

}  // namespace wharf::master
