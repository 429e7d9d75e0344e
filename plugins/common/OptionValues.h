// Reading a listener's option.* values: each failure throws
// std::invalid_argument naming the key and the reason, which refuses the
// listener at config check.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace common {

[[noreturn]] void refuseOption(std::string_view key, const std::string &reason);

// A whole number in 0..maximum.
unsigned long optionNumber(std::string_view key, const std::string &text, unsigned long maximum);
// "30", "30s", "500ms", "2m", at most a day.
std::chrono::milliseconds optionDuration(std::string_view key, std::string text);
// Bytes: "4096", "64K", "100M", "1G", "2T" (powers of 1024), at most `maximum`.
uint64_t optionBytes(std::string_view key, const std::string &text, uint64_t maximum);

// One of a few words: "off", "read", ...
template <typename Value>
Value optionChoice(std::string_view key, const std::string &text,
                   std::initializer_list<std::pair<const char *, Value>> words) {
  std::string expected;
  for (const auto &[word, value] : words) {
    if (text == word) return value;
    expected += (expected.empty() ? "" : ", ") + std::string(word);
  }
  refuseOption(key, "'" + text + "' (expected one of " + expected + ")");
}

}  // namespace common
