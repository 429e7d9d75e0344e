#include "dispatch/HandoverRound.h"

#include "dispatch/MigrationRound.h"

namespace wharf::dispatch {

std::string HandoverRound::finish(size_t left, session::Traffic &traffic) {
  traffic.addMigrated(session::Migrated::Moved, moved_);
  traffic.addMigrated(session::Migrated::Refused, refused_);
  traffic.addMigrated(session::Migrated::Left, left + stays_);
  std::string line = "migrate: to worker " + std::to_string(to_) + ": " + std::to_string(moved_) +
                     " sessions moved, " + std::to_string(refused_) + " refused";
  if (refused_ > 0) line += " (" + refusedWhy_ + ")";
  line += ", " + std::to_string(left) + " left (not quiescent within migrate_timeout)";
  if (stays_ > 0) line += ", " + std::to_string(stays_) + " stay (TLS, or no session_export)";
  return line + "; longest pause " + milliseconds(longestPause_) + ", round " +
         milliseconds(std::chrono::steady_clock::now() - started_);
}

}  // namespace wharf::dispatch
