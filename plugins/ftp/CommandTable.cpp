#include "CommandTable.h"

#include <algorithm>

namespace ftp {

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), ::toupper);
  return text;
}

bool isAnonymousName(const std::string &name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  return lower == "anonymous" || lower == "ftp";
}

std::string withoutListOptions(const std::string &argument) {
  std::string rest = argument;
  while (rest.starts_with("-")) {
    size_t space = rest.find(' ');
    rest = space == std::string::npos ? "" : rest.substr(space + 1);
  }
  return rest;
}

bool parseNumber(const std::string &text, unsigned long long maximum, unsigned long long &value) {
  if (text.empty() || text.size() > 20) return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > maximum) return false;
  }
  return true;
}

}  // namespace ftp
