#include "config/SectionReader.h"

#include <Poco/NumberParser.h>
#include <Poco/StringTokenizer.h>

#include <charconv>
#include <cmath>
#include <cstdint>

#include "config/Config.h"
#include "config/ConfigError.h"

namespace wharf::config {
namespace {

const std::string kOptionPrefix = "option.";

}  // namespace

void SectionReader::fail(const std::string &key, const std::string &reason) const {
  const IniEntry *entry = section_.find(key);
  throw ConfigError({document_.file, entry ? entry->line : section_.line, section_.name, key},
                    reason);
}

std::string SectionReader::warning(const std::string &key, const std::string &reason) const {
  const IniEntry *entry = section_.find(key);
  return describe({document_.file, entry ? entry->line : section_.line, section_.name, key},
                  reason);
}

const std::string *SectionReader::get(const std::string &key) const {
  const IniEntry *entry = section_.find(key);
  return entry ? &entry->value : nullptr;
}

const std::string &SectionReader::require(const std::string &key) const {
  const std::string *value = get(key);
  if (value == nullptr || value->empty()) fail(key, "missing (required)");
  return *value;
}

std::filesystem::path SectionReader::path(const std::string &value) const {
  std::filesystem::path path(value);
  if (path.is_relative()) path = document_.file.parent_path() / path;
  return path.lexically_normal();
}

std::optional<size_t> SectionReader::count(const std::string &key, size_t minimum,
                                           size_t maximum) const {
  const std::string *value = get(key);
  if (value == nullptr) return std::nullopt;
  // from_chars refuses what does not fit (2^64 is not 0) and signs; all of it must be digits.
  uint64_t number = 0;
  auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), number);
  if (error != std::errc() || end != value->data() + value->size() || number < minimum ||
      number > maximum)
    fail(key, "'" + *value + "' is not a whole number from " + std::to_string(minimum) + " to " +
                  std::to_string(maximum));
  return static_cast<size_t>(number);
}

std::optional<bool> SectionReader::flag(const std::string &key) const {
  const std::string *value = get(key);
  if (value == nullptr) return std::nullopt;
  if (*value == "true" || *value == "yes" || *value == "on") return true;
  if (*value == "false" || *value == "no" || *value == "off") return false;
  fail(key, "'" + *value + "' is not a yes/no value (true, yes, on, false, no, off)");
}

std::optional<std::chrono::milliseconds> SectionReader::duration(const std::string &key) const {
  const std::string *value = get(key);
  if (value == nullptr) return std::nullopt;
  std::string number = *value;
  double unit = 1000;
  for (const auto &[suffix, milliseconds] : {std::pair{"ms", 1.0}, std::pair{"s", 1000.0},
                                             std::pair{"m", 60000.0}, std::pair{"h", 3600000.0}}) {
    if (number.ends_with(suffix)) {
      number.resize(number.size() - std::string(suffix).size());
      unit = milliseconds;
      break;
    }
  }
  double amount = 0;
  if (!Poco::NumberParser::tryParseFloat(number, amount) || amount < 0 || !std::isfinite(amount))
    fail(key, "'" + *value + "' is not a duration (e.g. 30, 30s, 500ms, 2m, 1h)");
  double milliseconds = amount * unit;
  if (milliseconds > 0 && milliseconds < 1)  // it would be 0, which turns some keys off
    fail(key, "'" + *value +
                  "' is shorter than 1ms, the smallest step of a duration (from 1ms to " +
                  std::to_string(kMaxDuration.count()) + "h, or 0)");
  if (milliseconds >
      static_cast<double>(
          std::chrono::duration_cast<std::chrono::milliseconds>(kMaxDuration).count()))
    fail(key, "'" + *value + "' is longer than the maximum " +
                  std::to_string(kMaxDuration.count()) + "h");
  return std::chrono::milliseconds(static_cast<int64_t>(milliseconds));
}

std::optional<double> SectionReader::rate(const std::string &key) const {
  const std::string *value = get(key);
  if (value == nullptr) return std::nullopt;
  double amount = 0;
  if (!Poco::NumberParser::tryParseFloat(*value, amount) || amount < 0 || !std::isfinite(amount))
    fail(key, "'" + *value + "' is not a number >= 0");
  if (amount > kMaxRate)
    fail(key, "'" + *value + "' is more than " + std::to_string(static_cast<uint64_t>(kMaxRate)));
  return amount;
}

std::vector<net::Cidr> SectionReader::networks(const std::string &key) const {
  std::vector<net::Cidr> networks;
  const std::string *value = get(key);
  if (value == nullptr) return networks;
  Poco::StringTokenizer tokens(
      *value, ", \t", Poco::StringTokenizer::TOK_IGNORE_EMPTY | Poco::StringTokenizer::TOK_TRIM);
  for (const auto &token : tokens) {
    try {
      networks.push_back(net::Cidr::parse(token));
    } catch (const std::invalid_argument &error) {
      fail(key, error.what());
    }
  }
  return networks;
}

void SectionReader::rejectUnknownKeys(const std::set<std::string> &known, bool allowOptions) const {
  for (const auto &entry : section_.entries) {
    bool isOption = allowOptions && entry.key.starts_with(kOptionPrefix) &&
                    entry.key.size() > kOptionPrefix.size();
    if (!isOption && !known.contains(entry.key)) fail(entry.key, "unknown key");
  }
}

}  // namespace wharf::config
