#include "config/ConfigError.h"

namespace wharf::config {

std::string describe(const ConfigLocation &where, const std::string &reason) {
  std::string text = where.file.string();
  if (where.line > 0) text += ":" + std::to_string(where.line);
  text += ":";
  if (!where.section.empty()) text += " [" + where.section + "]";
  if (!where.key.empty()) text += " " + where.key + ":";
  return text + " " + reason;
}

ConfigError::ConfigError(const ConfigLocation &where, const std::string &reason)
    : std::runtime_error(describe(where, reason)), where_(where), reason_(reason) {}

}  // namespace wharf::config
