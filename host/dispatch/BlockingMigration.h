// Internal. Live migration for the modes that serve each session on a thread
// of its own (sync, thread, pool; migrate = on). A reload rings every
// blocking-style session of an older generation; its plugin hands it over
// between requests (session_hand_over), and the session goes on under the
// newer code on the same thread. One round per reload, as on a reactor
// (MigrationRound): it ends when no session of an older generation is left,
// at migrate_timeout (the rest stay, and their bells go quiet), or when a
// newer reload supersedes it; each round logs one line. A session whose move
// was refused stays, and that round asks it no more.
// THREAD: any; internally locked.
#pragma once

#include <Poco/Logger.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "dispatch/MigrationRound.h"
#include "listener/Generations.h"
#include "session/SessionCarrier.h"
#include "session/StreamSession.h"
#include "session/Traffic.h"

namespace wharf::dispatch {

class BlockingMigration final : public session::SessionCarrier {
 public:
  BlockingMigration(const listener::Generations &generations, session::Traffic &traffic,
                    Poco::Logger &logger);
  ~BlockingMigration() override;
  BlockingMigration(const BlockingMigration &) = delete;
  BlockingMigration &operator=(const BlockingMigration &) = delete;

  // THREAD: main, after a reload installed a new generation. With a
  // `timeout`, rings the older generations' sessions for up to that long;
  // without, a round still going on ends.
  void migrate(std::optional<std::chrono::milliseconds> timeout);

  void enroll(session::StreamSession &session, uint64_t generation) override;
  void withdraw(session::StreamSession &session) override;
  std::optional<Destination> destination(session::StreamSession &session) override;
  void moved(session::StreamSession &session, uint64_t generation,
             std::chrono::nanoseconds pause) override;
  void refused(session::StreamSession &session, session::Migration outcome) override;

 private:
  // Ends the round if no session of an older generation is left.
  void finishIfDoneLocked();
  // Logs the round; the sessions still older are left (their bells quiet).
  void finishLocked(bool superseded);
  struct Enrolled {
    uint64_t generation;
    uint64_t refusedBy = 0;  // the target of the round that could not move it
  };
  // Whether the round in progress still asks `session` to move.
  bool asksLocked(const Enrolled &session) const {
    return round_ && session.generation < round_->target()->number() &&
           session.refusedBy != round_->target()->number();
  }
  // Ends a round at its deadline. Started with the first round.
  void watch() noexcept;

  const listener::Generations &generations_;
  session::Traffic &traffic_;
  Poco::Logger &logger_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<session::StreamSession *, Enrolled> sessions_;
  std::optional<MigrationRound> round_;
  std::chrono::steady_clock::time_point deadline_;
  std::thread watcher_;
  bool stopping_ = false;
};

}  // namespace wharf::dispatch
