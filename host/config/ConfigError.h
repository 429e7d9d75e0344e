// Internal. A config error: where (file, line, section, key) and why.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace wharf::config {

struct ConfigLocation {
  std::filesystem::path file;
  int line = 0;
  std::string section;
  std::string key;
};

// "wharf.ini:12: [listener.echo] mode: REASON", as errors and warnings say it.
std::string describe(const ConfigLocation &where, const std::string &reason);

class ConfigError : public std::runtime_error {
 public:
  ConfigError(const ConfigLocation &where, const std::string &reason);

  const ConfigLocation &where() const { return where_; }
  const std::string &reason() const { return reason_; }

 private:
  ConfigLocation where_;
  std::string reason_;
};

}  // namespace wharf::config
