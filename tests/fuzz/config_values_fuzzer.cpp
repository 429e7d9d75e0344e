// libFuzzer: each typed value parser of the config on one value, at its
// edges. The first byte picks the parser and its bounds; the rest is the
// value. A count is within its bounds and is the number its digits spell
// (2^64 is refused, never wrapped to 0); a duration is within 0..kMaxDuration
// and is 0 only for a value of 0 (never a nonzero one rounded down, which
// would turn a timeout off); a rate is finite within 0..kMaxRate. Anything
// refused is a ConfigError; nothing else may escape.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/Config.h"
#include "config/ConfigError.h"
#include "config/IniDocument.h"
#include "config/SectionReader.h"

namespace {

using wharf::config::ConfigError;
using wharf::config::IniDocument;
using wharf::config::SectionReader;

void require(bool holds) {
  if (!holds) std::abort();
}

// Whether `digits` (only 0-9) spell `number` in decimal, however long they are.
bool spells(const std::string &digits, uint64_t number) {
  size_t first = digits.find_first_not_of('0');
  std::string significant = first == std::string::npos ? "0" : digits.substr(first);
  return significant == std::to_string(number);
}

void checkCount(const SectionReader &reader, const std::string &value, uint8_t choice) {
  static constexpr size_t kMaxima[] = {1, 65507, wharf::config::kMaxSessionsBound, SIZE_MAX};
  size_t maximum = kMaxima[choice % 4];
  size_t minimum = (choice / 4) % 2;
  if (auto number = reader.count("k", minimum, maximum)) {
    require(*number >= minimum && *number <= maximum);
    require(!value.empty() && value.find_first_not_of("0123456789") == std::string::npos);
    require(spells(value, *number));
  }
}

void checkDuration(const SectionReader &reader) {
  if (auto duration = reader.duration("k")) {
    require(duration->count() >= 0);
    require(*duration <= wharf::config::kMaxDuration);
    if (duration->count() == 0) {
      // Only a value that is zero: parse its number part again.
      std::string text = *reader.get("k");
      while (!text.empty() && (text.back() == 's' || text.back() == 'm' || text.back() == 'h'))
        text.pop_back();
      require(std::strtod(text.c_str(), nullptr) == 0);
    }
  }
}

void checkRate(const SectionReader &reader) {
  if (auto rate = reader.rate("k"))
    require(std::isfinite(*rate) && *rate >= 0 && *rate <= wharf::config::kMaxRate);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  uint8_t choice = data[0];
  std::string value(reinterpret_cast<const char *>(data) + 1, size - 1);
  for (char &byte : value)
    if (byte == '\n' || byte == '\r') byte = ' ';  // one line
  IniDocument document;
  try {
    document = IniDocument::parse("/fuzz/wharf.ini", "[s]\nk = " + value + "\n");
  } catch (const ConfigError &) {
    return 0;
  }
  if (document.sections.empty() || document.sections[0].find("k") == nullptr) return 0;
  SectionReader reader(document, document.sections[0]);
  const std::string &parsed = *reader.get("k");
  try {
    switch ((choice >> 4) % 5) {
      case 0:
        checkCount(reader, parsed, choice);
        break;
      case 1:
        checkDuration(reader);
        break;
      case 2:
        checkRate(reader);
        break;
      case 3:
        (void)reader.flag("k");
        break;
      case 4:
        (void)reader.networks("k");
        break;
    }
  } catch (const ConfigError &) {
    // the expected answer to a bad value
  }
  return 0;
}
