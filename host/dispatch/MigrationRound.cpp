#include "dispatch/MigrationRound.h"

namespace wharf::dispatch {

std::string milliseconds(std::chrono::nanoseconds duration) {
  auto tenths = std::chrono::duration_cast<std::chrono::microseconds>(duration).count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " ms";
}

void MigrationRound::count(session::Migration outcome) {
  using session::Migration;
  switch (outcome) {
    case Migration::Moved:
      ++moved_;
      return;
    case Migration::ExportRefused:
      ++exportRefused_;
      return;
    case Migration::ImportRefused:
      ++importRefused_;
      return;
    case Migration::NotCarried:  // notCarried() counts it, with why
    case Migration::Busy:
      return;
  }
}

std::string MigrationRound::finish(size_t left, bool superseded, session::Traffic &traffic) {
  if (superseded) left = 0;
  traffic.addMigrated(session::Migrated::Moved, moved_);
  traffic.addMigrated(session::Migrated::Refused, notCarried_ + exportRefused_ + importRefused_);
  traffic.addMigrated(session::Migrated::Left, left);
  std::string line = "migrate: to generation " + std::to_string(target_->number()) + ": " +
                     std::to_string(moved_) + " sessions moved, " + std::to_string(exportRefused_) +
                     " refused by session_export, " + std::to_string(importRefused_) +
                     " by session_import, ";
  if (notCarried_ > 0)
    line += std::to_string(notCarried_) + " not carried (" + notCarriedWhy_ + "), ";
  line += superseded ? "the rest left to a newer reload's round"
                     : std::to_string(left) + " left (not quiescent within migrate_timeout)";
  return line + "; " + pauseName_ + " " + milliseconds(longestTurn_) + ", round " +
         milliseconds(std::chrono::steady_clock::now() - started_);
}

}  // namespace wharf::dispatch
