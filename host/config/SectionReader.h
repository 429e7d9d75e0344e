// Internal. Reads one INI section's values with their types, and fails with
// ConfigError naming file, line, section and key.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/IniDocument.h"
#include "net/Cidr.h"

namespace wharf::config {

// Every duration key's upper bound: long enough for any timeout, short enough
// that adding it to a clock reading cannot overflow.
constexpr std::chrono::hours kMaxDuration{24 * 7};

class SectionReader {
 public:
  SectionReader(const IniDocument &document, const IniSection &section)
      : document_(document), section_(section) {}

  [[noreturn]] void fail(const std::string &key, const std::string &reason) const;
  // "file:line: [section] key: REASON", for a warning about `key`.
  std::string warning(const std::string &key, const std::string &reason) const;

  const std::string *get(const std::string &key) const;
  const std::string &require(const std::string &key) const;
  // Relative paths resolve against the config file's folder.
  std::filesystem::path path(const std::string &value) const;
  // A whole number from minimum to maximum.
  std::optional<size_t> count(const std::string &key, size_t minimum, size_t maximum) const;
  // true/yes/on or false/no/off.
  std::optional<bool> flag(const std::string &key) const;
  // "30" or "30s", "500ms", "2m", "1h"; from zero to kMaxDuration.
  std::optional<std::chrono::milliseconds> duration(const std::string &key) const;
  // A number from 0 to kMaxRate, possibly fractional ("0.5").
  std::optional<double> rate(const std::string &key) const;
  // Networks separated by commas or spaces: "10.0.0.0/8, ::1".
  std::vector<net::Cidr> networks(const std::string &key) const;

  // Keys outside `known` fail, except option.* when `allowOptions`.
  void rejectUnknownKeys(const std::set<std::string> &known, bool allowOptions) const;
  const IniSection &section() const { return section_; }

 private:
  const IniDocument &document_;
  const IniSection &section_;
};

}  // namespace wharf::config
