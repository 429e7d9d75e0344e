#include "dispatch/MigrationRound.h"

namespace wharf::dispatch {

std::string MigrationRound::cannotCarry(const listener::Generation &from,
                                        const listener::Generation &to) {
  auto named = [](const listener::Generation &generation) {
    const plugin::Plugin &plugin = generation.instance().plugin();
    return "generation " + std::to_string(generation.number()) + " (" + plugin.name() + " " +
           plugin.version() + ")";
  };
  if (from.instance().hooks().session_export == nullptr)
    return named(from) + " has no session_export";
  if (to.instance().hooks().session_import == nullptr) return named(to) + " has no session_import";
  return "";
}

void MigrationRound::count(session::ReactorSession::Migration outcome) {
  using Migration = session::ReactorSession::Migration;
  if (outcome == Migration::Moved) ++moved_;
  if (outcome == Migration::ExportRefused) ++exportRefused_;
  if (outcome == Migration::ImportRefused) ++importRefused_;
}

std::string MigrationRound::finish(size_t left, session::Traffic &traffic) {
  traffic.addMigrated(session::Migrated::Moved, moved_);
  traffic.addMigrated(session::Migrated::Refused, exportRefused_ + importRefused_);
  traffic.addMigrated(session::Migrated::Left, left);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_);
  return "migrate: to generation " + std::to_string(target_->number()) + " in " +
         std::to_string(took.count()) + " ms: " + std::to_string(moved_) + " sessions moved, " +
         std::to_string(exportRefused_) + " refused by session_export, " +
         std::to_string(importRefused_) + " by session_import, " + std::to_string(left) +
         " left (not quiescent within migrate_timeout)";
}

}  // namespace wharf::dispatch
