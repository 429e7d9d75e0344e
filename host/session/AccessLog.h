// Internal. The access log: one line per finished session, in logfmt
// (key=value, values quoted when they need it), like xinetd's log_on_success
// and log_on_failure together:
//   time=2026-11-30T18:11:49.123Z listener=echo peer=192.0.2.7:40112
//   generation=1 duration=0.004 in=5 out=5 ended=client [error="..."]
// Writing never blocks serving: a line the sink cannot take now is dropped
// and counted in the listener's Traffic. THREAD: any.
#pragma once

#include <memory>
#include <string>
#include <string_view>

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
  explicit AccessLog(std::shared_ptr<logging::LineSink> sink) : sink_(std::move(sink)) {}

  // False if the line was dropped.
  bool write(const AccessEntry &entry) noexcept;

 private:
  std::shared_ptr<logging::LineSink> sink_;
};

// The line write() sends, without its newline.
std::string accessLine(const AccessEntry &entry, std::chrono::system_clock::time_point end);

}  // namespace wharf::session
