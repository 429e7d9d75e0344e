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

void appendField(std::string &line, const char *key, std::string_view value) {
  line += ' ';
  line += key;
  line += '=';
  appendValue(line, value);
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

}  // namespace

std::string accessLine(const AccessEntry &entry, std::chrono::system_clock::time_point end) {
  std::string line = "time=" + timestamp(end);
  appendField(line, "listener", entry.listener);
  appendField(line, "peer", entry.peer);
  appendField(line, "generation", std::to_string(entry.generation));
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.6f",
                std::chrono::duration<double>(entry.tally.duration).count());
  appendField(line, "duration", duration);
  appendField(line, "in", std::to_string(entry.tally.bytesIn));
  appendField(line, "out", std::to_string(entry.tally.bytesOut));
  appendField(line, "ended", endingName(entry.tally.ending));
  if (!entry.error.empty()) appendField(line, "error", entry.error);
  return line;
}

bool AccessLog::write(const AccessEntry &entry) noexcept {
  try {
    return sink_->write(LOG_INFO, accessLine(entry, std::chrono::system_clock::now()));
  } catch (...) {  // out of memory for the line
    return false;
  }
}

}  // namespace wharf::session
