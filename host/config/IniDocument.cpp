#include "config/IniDocument.h"

#include <Poco/String.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "config/ConfigError.h"
#include "net/FileDescriptor.h"

namespace wharf::config {
namespace {

const std::string kByteOrderMark = "\xEF\xBB\xBF";

// A comment starts a line with ';' or '#', or follows whitespace inside a line.
std::string stripComment(const std::string &line) {
  for (size_t i = 0; i < line.size(); ++i) {
    bool marker = line[i] == ';' || line[i] == '#';
    if (marker && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) return line.substr(0, i);
  }
  return line;
}

}  // namespace

const IniEntry *IniSection::find(const std::string &key) const {
  auto position = positions_.find(key);
  return position == positions_.end() ? nullptr : &entries[position->second];
}

bool IniSection::add(IniEntry entry) {
  if (!positions_.emplace(entry.key, entries.size()).second) return false;
  entries.push_back(std::move(entry));
  return true;
}

IniDocument IniDocument::read(const std::filesystem::path &file) {
  return parse(file, readText(file));
}

std::string IniDocument::readText(const std::filesystem::path &file) {
  // Non-blocking: a FIFO would wait for a writer for good (and wharfd with it).
  net::FileDescriptor in(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!in.valid())
    throw ConfigError({file, 0, "", ""},
                      std::string("cannot open the file: ") + std::strerror(errno));
  struct stat status {};
  if (::fstat(in.fd(), &status) != 0 || !S_ISREG(status.st_mode))
    throw ConfigError({file, 0, "", ""}, "not a regular file");
  if (static_cast<uint64_t>(status.st_size) > kMaxFileSize)
    throw ConfigError({file, 0, "", ""},
                      "larger than " + std::to_string(kMaxFileSize >> 20) + " MiB");
  std::string text;
  char buffer[65536];
  for (;;) {  // bounded even if the file grows while it is read
    ssize_t got = ::read(in.fd(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw ConfigError({file, 0, "", ""}, std::string("reading: ") + std::strerror(errno));
    if (got == 0) return text;
    text.append(buffer, static_cast<size_t>(got));
    if (text.size() > kMaxFileSize)
      throw ConfigError({file, 0, "", ""},
                        "larger than " + std::to_string(kMaxFileSize >> 20) + " MiB");
  }
}

IniDocument IniDocument::parse(const std::filesystem::path &file, const std::string &text) {
  IniDocument document{file, {}};
  // A UTF-8 byte order mark, as some Windows editors write, is not text.
  std::istringstream in(text.starts_with(kByteOrderMark) ? text.substr(kByteOrderMark.size())
                                                         : text);
  std::unordered_map<std::string, int> sectionLines;
  std::string raw;
  for (int number = 1; std::getline(in, raw); ++number) {
    std::string line = Poco::trim(stripComment(raw));
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']') throw ConfigError({file, number, "", ""}, "unterminated section");
      std::string name = Poco::trim(line.substr(1, line.size() - 2));
      auto [first, added] = sectionLines.emplace(name, number);
      if (!added)
        throw ConfigError({file, number, name, ""}, "duplicate section (first at line " +
                                                        std::to_string(first->second) + ")");
      document.sections.emplace_back(name, number);
      continue;
    }
    size_t equals = line.find('=');
    if (equals == std::string::npos)
      throw ConfigError({file, number, "", ""}, "expected 'key = value' or '[section]'");
    if (document.sections.empty())
      throw ConfigError({file, number, "", ""}, "a key outside any [section]");
    IniSection &section = document.sections.back();
    std::string key = Poco::trim(line.substr(0, equals));
    if (key.empty()) throw ConfigError({file, number, section.name, ""}, "empty key");
    if (!section.add({key, Poco::trim(line.substr(equals + 1)), number}))
      throw ConfigError(
          {file, number, section.name, key},
          "duplicate key (first at line " + std::to_string(section.find(key)->line) + ")");
  }
  return document;
}

}  // namespace wharf::config
