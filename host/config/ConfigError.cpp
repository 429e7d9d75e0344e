#include "config/ConfigError.h"

namespace wharf::config {
namespace {

// "wharf.ini:12: [listener.echo] mode: unknown mode 'fast'". Appended piece
// by piece: GCC 12 at -O3 reports a false -Wrestrict for `":" + std::string`.
std::string describe(const ConfigLocation &where, const std::string &reason) {
  std::string text = where.file.string();
  if (where.line > 0) text.append(":").append(std::to_string(where.line));
  text.append(":");
  if (!where.section.empty()) text.append(" [").append(where.section).append("]");
  if (!where.key.empty()) text.append(" ").append(where.key).append(":");
  return text.append(" ").append(reason);
}

}  // namespace

ConfigError::ConfigError(const ConfigLocation &where, const std::string &reason)
    : std::runtime_error(describe(where, reason)), where_(where), reason_(reason) {}

}  // namespace wharf::config
