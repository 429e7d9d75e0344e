#include "session/AccessLog.h"

#include <syslog.h>

#include <cstdio>
#include <ctime>

namespace wharf::session {
namespace {

// A logfmt value: bare when it can be, else quoted with \ " and control
// characters escaped, so a peer's unix path or a plugin's error message can
// never start a field or a line of its own.
void appendValue(std::string &line, std::string_view value) {
  bool bare = !value.empty();
  for (char c : value)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
      bare = false;
  if (bare) {
    line.append(value);
    return;
  }
  line += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') {
      line += '\\';
      line += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\x%02x", static_cast<unsigned char>(c));
      line += escape;
    } else {
      line += c;
    }
  }
  line += '"';
}

// The length of the valid UTF-8 sequence `text` starts with (no overlong
// form, no surrogate, at most U+10FFFF); 0 if it starts with none.
size_t utf8Length(std::string_view text) {
  auto at = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  auto continuation = [&](size_t i) { return i < text.size() && (at(i) & 0xC0) == 0x80; };
  unsigned char lead = at(0);
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if ((lead == 0xE0 && at(1) < 0xA0) || (lead == 0xED && at(1) >= 0xA0)) return 0;
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if ((lead == 0xF0 && at(1) < 0x90) || (lead == 0xF4 && at(1) >= 0x90)) return 0;
    return 4;
  }
  return 0;
}

std::string timestamp(std::chrono::system_clock::time_point when) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[40];
  size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count() % 1000;
  std::snprintf(text + length, sizeof text - length, ".%03dZ", static_cast<int>(millis));
  return text;
}

// A JSON string: control characters, " and \ escaped, valid UTF-8 kept;
// a byte that is not (a peer's unix path may hold any) is written as the
// code point of the same number, so the line always parses.
void appendJsonString(std::string &line, std::string_view text) {
  line += '"';
  for (size_t i = 0; i < text.size();) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte == '"' || byte == '\\') {
      line += '\\';
      line += static_cast<char>(byte);
    } else if (byte >= 0x20 && byte < 0x80) {
      line += static_cast<char>(byte);
    } else if (size_t length = utf8Length(text.substr(i)); byte >= 0x80 && length > 0) {
      line.append(text.substr(i, length));
      i += length;
      continue;
    } else {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", byte);
      line += escape;
    }
    ++i;
  }
  line += '"';
}

// The two forms of a line: key=value pairs, and one JSON object.
struct LogfmtLine {
  std::string line;
  void text(const char *key, std::string_view value) {
    if (!line.empty()) line += ' ';
    line += key;
    line += '=';
    appendValue(line, value);
  }
  void number(const char *key, std::string_view value) { text(key, value); }
  std::string finished() { return std::move(line); }
};

struct JsonLine {
  std::string line = "{";
  void key(const char *name) {
    line += line.size() > 1 ? ",\"" : "\"";
    line += name;
    line += "\":";
  }
  void text(const char *name, std::string_view value) {
    key(name);
    appendJsonString(line, value);
  }
  void number(const char *name, std::string_view value) {
    key(name);
    line += value;
  }
  std::string finished() { return std::move(line += '}'); }
};

// Every field, in order, in the form `out` writes.
template <typename Line>
std::string fieldsOf(Line out, const AccessEntry &entry,
                     std::chrono::system_clock::time_point end) {
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.6f",
                std::chrono::duration<double>(entry.tally.duration).count());
  out.text("time", timestamp(end));
  out.text("listener", entry.listener);
  out.text("peer", entry.peer);
  out.number("generation", std::to_string(entry.generation));
  out.number("duration", duration);
  out.number("in", std::to_string(entry.tally.bytesIn));
  out.number("out", std::to_string(entry.tally.bytesOut));
  out.text("ended", endingName(entry.tally.ending));
  if (!entry.error.empty()) out.text("error", entry.error);
  return out.finished();
}

}  // namespace

std::string accessLine(const AccessEntry &entry, std::chrono::system_clock::time_point end,
                       config::AccessLogFormat format) {
  if (format == config::AccessLogFormat::Json) return fieldsOf(JsonLine{}, entry, end);
  return fieldsOf(LogfmtLine{}, entry, end);
}

bool AccessLog::write(const AccessEntry &entry) noexcept {
  if (!logEmptySessions_ && entry.tally.bytesIn == 0 && entry.tally.bytesOut == 0) return true;
  try {
    return sink_->write(LOG_INFO, accessLine(entry, std::chrono::system_clock::now(), format_));
  } catch (...) {  // out of memory for the line
    return false;
  }
}

}  // namespace wharf::session
