#include "session/Ledger.h"

namespace wharf::session {

void Ledger::record(std::string_view listener, std::string_view peer, const SessionTally &tally,
                    std::string_view error) const noexcept {
  traffic.add(tally);
  if (accessLog != nullptr && !accessLog->write({listener, peer, generation, tally, error}))
    traffic.countDroppedLogLine();
}

}  // namespace wharf::session
