#include "zone/ZoneRegistry.h"

#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include "zone/ZoneError.h"

namespace wharf::zone {
namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kMaxNameLength = 64;

bool validName(const std::string &name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

}  // namespace

ZoneRegistry &ZoneRegistry::instance() {
  static ZoneRegistry registry;
  return registry;
}

std::string ZoneRegistry::newSpace(pid_t master) {
  uint64_t random = 0;
  if (::getrandom(&random, sizeof random, 0) != sizeof random)
    throw std::system_error(errno, std::generic_category(), "getrandom");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(random));
  return "wharf_" + std::to_string(master) + "_" + hex;
}

std::string ZoneRegistry::space() {
  const char *given = std::getenv(kZoneSpaceVariable);
  if (given != nullptr && validName(given)) return given;
  static const std::string own = newSpace(::getpid());
  return own;
}

std::shared_ptr<SharedZone> ZoneRegistry::declare(ZoneRequest request, bool &fresh) {
  if (!validName(request.name))
    throw ZoneError("zone name '" + request.name.substr(0, kMaxNameLength) +
                    "': [a-z0-9_], 1 to 64 characters");
  if (request.size < kMinZoneSize || request.size > kMaxZoneSize)
    throw ZoneError("zone '" + request.name + "': " + std::to_string(request.size) +
                    " bytes; a zone has 64 KiB to 1 GiB");
  request.size = (request.size + kPage - 1) / kPage * kPage;
  std::lock_guard lock(mutex_);
  for (auto entry = zones_.begin(); entry != zones_.end();) {
    std::shared_ptr<SharedZone> mapped = entry->second.lock();
    if (!mapped) {
      entry = zones_.erase(entry);
      continue;
    }
    const ZoneRequest &held = mapped->request();
    if (held.name == request.name && held.listener != request.listener)
      throw ZoneError::belongsTo(request.name, held.listener);
    if (entry->first == std::make_pair(request.name, request.layout)) {
      if (held.size != request.size)
        throw ZoneError::sizeChanged(request.name, held.size, request.size);
      fresh = false;
      return mapped;
    }
    ++entry;
  }
  std::string objectName =
      "/" + space() + "." + request.name + "." + std::to_string(request.layout);
  std::shared_ptr<SharedZone> zone = SharedZone::attach(objectName, request, fresh);
  zones_[{request.name, request.layout}] = zone;
  return zone;
}

}  // namespace wharf::zone
