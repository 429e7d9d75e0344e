// Internal. The access log: one line per finished session, like xinetd's
// log_on_success and log_on_failure together, in logfmt (key=value, values
// quoted when they need it):
//   time=2026-11-30T18:11:49.123Z listener=echo peer=192.0.2.7:40112
//   generation=1 duration=0.004 in=5 out=5 ended=client [error="..."]
// or as one JSON object with the same keys (numbers as numbers), for log
// pipelines that parse JSON (access_log_format = json). Sessions that
// carried no byte either way may be left out (log_empty_sessions = off).
// Writing never blocks serving: a line the sink cannot take now is dropped
// and counted in the listener's Traffic. THREAD: any.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/Config.h"
#include "logging/LineSink.h"
#include "session/Traffic.h"

namespace wharf::session {

struct AccessEntry {
  std::string_view listener;
  std::string_view peer;
  uint64_t generation;
  const SessionTally &tally;
  std::string_view error;  // empty unless it ended by an error
};

class AccessLog {
 public:
  AccessLog(std::shared_ptr<logging::LineSink> sink, config::AccessLogFormat format,
            bool logEmptySessions)
      : sink_(std::move(sink)), format_(format), logEmptySessions_(logEmptySessions) {}

  // False if the line was dropped.
  bool write(const AccessEntry &entry) noexcept;

 private:
  std::shared_ptr<logging::LineSink> sink_;
  config::AccessLogFormat format_;
  bool logEmptySessions_;
};

// The line write() sends, without its newline.
std::string accessLine(const AccessEntry &entry, std::chrono::system_clock::time_point end,
                       config::AccessLogFormat format = config::AccessLogFormat::Logfmt);

}  // namespace wharf::session
