#include "session/Ledger.h"

namespace wharf::session {

void Ledger::record(std::string_view listener, std::string_view peer, const SessionTally &tally,
                    std::string_view error, ByteCount counted) const noexcept {
  traffic.add(tally, counted);
  if (accessLog != nullptr && !accessLog->write({listener, peer, generation, tally, error}))
    traffic.countDroppedLogLine();
}

}  // namespace wharf::session
