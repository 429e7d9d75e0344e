// Internal. A zone the host cannot give a plugin, and why (for the log line
// that names the listener and the plugin).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace wharf::zone {

class ZoneError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;

  // A zone name another listener holds (names are global to the daemon).
  static ZoneError belongsTo(const std::string &name, const std::string &owner) {
    return ZoneError("zone '" + name + "' belongs to listener [" + owner + "]");
  }

  // A zone in use asked for again with another size.
  static ZoneError sizeChanged(const std::string &name, uint64_t size, uint64_t asked) {
    return ZoneError("zone '" + name + "' is " + std::to_string(size) +
                     " bytes; a declaration of " + std::to_string(asked) +
                     " cannot have it while it is in use (declare a new layout version for a "
                     "fresh zone, or restart wharfd)");
  }
};

}  // namespace wharf::zone
