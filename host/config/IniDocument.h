// Internal. An INI file read into ordered sections and keys, each with its line
// number, so every later error can say file:line, section and key.
//
// Why not Poco::Util::IniFileConfiguration alone: in Poco 1.11 it keeps inline
// "; comments" in values, turns "# comment" lines into keys, silently keeps
// the last of duplicate keys and forgets line numbers. This reader fixes those
// and hands the values to Poco::Util::MapConfiguration for typed access.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

namespace wharf::config {

struct IniEntry {
  std::string key;
  std::string value;
  int line = 0;
};

class IniSection {
 public:
  IniSection(std::string name, int line) : name(std::move(name)), line(line) {}

  std::string name;
  int line = 0;
  std::vector<IniEntry> entries;  // in file order; add() appends

  const IniEntry *find(const std::string &key) const;
  // Appends; false (nothing added) if the key is already there.
  bool add(IniEntry entry);

 private:
  std::unordered_map<std::string, size_t> positions_;  // key -> index in entries
};

struct IniDocument {
  std::filesystem::path file;
  std::vector<IniSection> sections;

  // Throws ConfigError for unreadable files, syntax errors, keys outside a
  // section, duplicate sections and duplicate keys.
  static IniDocument read(const std::filesystem::path &file);
  // The most a config file may hold.
  static constexpr uint64_t kMaxFileSize = 16u << 20;
  // The file's bytes (the master hands them to its workers, so that every
  // process serves the same config). Throws ConfigError if unreadable, not
  // a regular file (a FIFO, /dev/zero) or larger than kMaxFileSize.
  static std::string readText(const std::filesystem::path &file);
  static IniDocument parse(const std::filesystem::path &file, const std::string &text);
};

}  // namespace wharf::config
