// Internal. Where a finished session is written down: its listener's
// counters and, when the listener keeps one, its access log.
#pragma once

#include <cstdint>
#include <string_view>

#include "session/AccessLog.h"
#include "session/Traffic.h"

namespace wharf::session {

struct Ledger {
  Traffic &traffic;
  AccessLog *accessLog;  // null: none
  uint64_t generation;   // the plugin generation that served the session

  // THREAD: any. Counts the session and writes its access log line (a line
  // the log cannot take is counted as dropped). `error`: empty unless it
  // ended by one. Never throws.
  // `counted`: the bytes already added while it ran.
  void record(std::string_view listener, std::string_view peer, const SessionTally &tally,
              std::string_view error, ByteCount counted = {}) const noexcept;
};

}  // namespace wharf::session
