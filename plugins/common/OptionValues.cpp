#include "common/OptionValues.h"

#include <charconv>
#include <stdexcept>

namespace common {

void refuseOption(std::string_view key, const std::string &reason) {
  throw std::invalid_argument("option." + std::string(key) + ": " + reason);
}

unsigned long optionNumber(std::string_view key, const std::string &text, unsigned long maximum) {
  unsigned long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value > maximum)
    refuseOption(key, "'" + text + "' is not a whole number up to " + std::to_string(maximum));
  return value;
}

std::chrono::milliseconds optionDuration(std::string_view key, std::string text) {
  unsigned long scale = 1000;
  if (text.ends_with("ms")) {
    scale = 1;
    text.resize(text.size() - 2);
  } else if (text.ends_with("s")) {
    text.resize(text.size() - 1);
  } else if (text.ends_with("m")) {
    scale = 60000;
    text.resize(text.size() - 1);
  }
  // The day is checked in milliseconds, once the unit is applied ("86400000m" is not a day).
  return std::chrono::milliseconds(optionNumber(key, text, 86400000 / scale) * scale);
}

uint64_t optionBytes(std::string_view key, const std::string &text, uint64_t maximum) {
  static constexpr std::string_view kUnits = "KMGT";
  std::string digits = text;
  uint64_t scale = 1;
  if (!digits.empty()) {
    if (size_t unit = kUnits.find(digits.back()); unit != std::string_view::npos) {
      scale = uint64_t{1} << (10 * (unit + 1));
      digits.pop_back();
    }
  }
  uint64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
      value > maximum / scale)
    refuseOption(key, "'" + text + "' is not a size up to " + std::to_string(maximum) +
                          " bytes (a number, optionally with K, M, G or T)");
  return value * scale;
}

}  // namespace common
