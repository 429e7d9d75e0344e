#include "Listing.h"

#include <cctype>
#include <cstdio>
#include <utility>

namespace ftp {
namespace {

constexpr const char *kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

char typeLetter(mode_t mode) {
  if (S_ISDIR(mode)) return 'd';
  if (S_ISLNK(mode)) return 'l';
  if (S_ISCHR(mode)) return 'c';
  if (S_ISBLK(mode)) return 'b';
  if (S_ISFIFO(mode)) return 'p';
  if (S_ISSOCK(mode)) return 's';
  return '-';
}

}  // namespace

std::string listLine(const std::string &name, const struct stat &status, time_t now,
                     const std::string &linkTarget) {
  char permissions[11] = {typeLetter(status.st_mode)};
  const char *letters = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    permissions[i + 1] = (status.st_mode & (0400 >> i)) ? letters[i] : '-';
  permissions[10] = '\0';
  tm when{};
  gmtime_r(&status.st_mtime, &when);
  constexpr time_t kSixMonths = 182 * 24 * 3600;
  char date[48];
  if (status.st_mtime > now + 3600 || now - status.st_mtime > kSixMonths)
    std::snprintf(date, sizeof date, "%s %2d  %4d", kMonths[when.tm_mon], when.tm_mday,
                  when.tm_year + 1900);
  else
    std::snprintf(date, sizeof date, "%s %2d %02d:%02d", kMonths[when.tm_mon], when.tm_mday,
                  when.tm_hour, when.tm_min);
  char head[96];
  std::snprintf(head, sizeof head, "%s %3lu ftp      ftp      %12lld %s ", permissions,
                static_cast<unsigned long>(status.st_nlink), static_cast<long long>(status.st_size),
                date);
  std::string line = head + name;
  if (!linkTarget.empty()) line += " -> " + linkTarget;
  return line + "\r\n";
}

namespace {

constexpr std::pair<Fact, const char *> kFactNames[] = {
    {kType, "type"}, {kSize, "size"}, {kModify, "modify"}, {kPerm, "perm"}, {kUnique, "unique"}};

}  // namespace

unsigned parseFacts(const std::string &list) {
  unsigned facts = 0;
  size_t at = 0;
  while (at < list.size()) {
    size_t end = list.find(';', at);
    if (end == std::string::npos) end = list.size();
    std::string name = list.substr(at, end - at);
    for (auto &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto &[fact, known] : kFactNames)
      if (name == known) facts |= fact;
    at = end + 1;
  }
  return facts;
}

std::string factNames(unsigned facts, bool starred) {
  std::string names;
  for (const auto &[fact, name] : kFactNames) {
    if (!starred && !(facts & fact)) continue;
    names += name;
    if (starred && (facts & fact)) names += "*";
    names += ";";
  }
  return names;
}

std::string factsOf(const struct stat &status, bool writable, unsigned selected) {
  bool folder = S_ISDIR(status.st_mode);
  std::string facts;
  if (selected & kType) facts += folder ? "type=dir;" : "type=file;";
  if ((selected & kSize) && !folder) facts += "size=" + std::to_string(status.st_size) + ";";
  if (selected & kModify) facts += "modify=" + timestamp(status.st_mtime) + ";";
  if (selected & kPerm)
    facts +=
        "perm=" + std::string(folder ? (writable ? "elcdmpf" : "el") : (writable ? "radfw" : "r")) +
        ";";
  if (selected & kUnique) {
    char unique[48];
    std::snprintf(unique, sizeof unique, "unique=%llxx%llx;",
                  static_cast<unsigned long long>(status.st_dev),
                  static_cast<unsigned long long>(status.st_ino));
    facts += unique;
  }
  return facts + " ";
}

std::string timestamp(time_t when) {
  tm fields{};
  gmtime_r(&when, &fields);
  char text[64];
  std::snprintf(text, sizeof text, "%04d%02d%02d%02d%02d%02d", fields.tm_year + 1900,
                fields.tm_mon + 1, fields.tm_mday, fields.tm_hour, fields.tm_min, fields.tm_sec);
  return text;
}

bool parseTimestamp(const std::string &text, time_t &when) {
  if (text.size() < 14) return false;
  for (size_t i = 0; i < 14; ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  if (text.size() > 14 && text[14] != '.') return false;
  auto field = [&](size_t at, size_t length) { return std::stoi(text.substr(at, length)); };
  tm fields{};
  fields.tm_year = field(0, 4) - 1900;
  fields.tm_mon = field(4, 2) - 1;
  fields.tm_mday = field(6, 2);
  fields.tm_hour = field(8, 2);
  fields.tm_min = field(10, 2);
  fields.tm_sec = field(12, 2);
  if (fields.tm_mon < 0 || fields.tm_mon > 11 || fields.tm_mday < 1 || fields.tm_mday > 31 ||
      fields.tm_hour > 23 || fields.tm_min > 59 || fields.tm_sec > 60)
    return false;
  when = timegm(&fields);
  return true;
}

}  // namespace ftp
