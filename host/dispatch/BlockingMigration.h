// Internal. Live migration for the modes that serve each session on a thread
// of its own (sync, thread, pool; migrate = on). A reload rings every
// blocking-style session of an older generation; its plugin hands it over
// between requests (session_hand_over), and the session goes on under the
// newer code on the same thread. A retiring worker rings all of them, and
// each one handed over goes, with its state and a copy of its connection,
// to the worker that replaces this one (HandoverLink), its thread waiting
// for that worker's answer. One round per reload or retirement, counted as
// on a reactor (MigrationRound, HandoverRound): it ends when no session it
// asks is left, at migrate_timeout (the rest stay, their bells quiet), or
// when a newer reload supersedes it; each round logs one line. A session
// whose move was refused stays, and that round asks it no more; one taken
// counts as moved even if its old code returns after the round ended.
// THREAD: any; internally locked.
#pragma once

#include <Poco/Logger.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "dispatch/HandoverLink.h"
#include "dispatch/HandoverRound.h"
#include "dispatch/MigrationRound.h"
#include "listener/Generations.h"
#include "session/SessionCarrier.h"
#include "session/StreamSession.h"
#include "session/Traffic.h"

namespace wharf::dispatch {

class BlockingMigration final : public session::SessionCarrier {
 public:
  BlockingMigration(const std::string &listener, const listener::Generations &generations,
                    session::Traffic &traffic, Poco::Logger &logger);
  ~BlockingMigration() override;
  BlockingMigration(const BlockingMigration &) = delete;
  BlockingMigration &operator=(const BlockingMigration &) = delete;

  // THREAD: main, after a reload installed a new generation. With a
  // `timeout`, rings the older generations' sessions for up to that long;
  // without, a round still going on ends.
  void migrate(std::optional<std::chrono::milliseconds> timeout);
  // This worker retires: every session handed over from now on goes over
  // `link` to worker `to`, for up to `timeout`. False if no thread can be had.
  bool handOver(std::shared_ptr<HandoverLink> link, pid_t to, std::chrono::milliseconds timeout);
  // THREAD: the link's. The other worker's answer (null: the link has gone).
  void answered(Poco::JSON::Object::Ptr answer);

  void enroll(session::StreamSession &session, uint64_t generation) override;
  void withdraw(session::StreamSession &session) override;
  std::optional<Destination> destination(session::StreamSession &session) override;
  void moved(session::StreamSession &session, uint64_t generation,
             std::chrono::nanoseconds pause) override;
  void decided(session::StreamSession &session, uint64_t target,
               session::Migration outcome) override;
  std::optional<bool> sendAway(session::StreamSession &session,
                               std::span<const uint8_t> state) override;

 private:
  struct Enrolled {
    uint64_t generation;
    uint64_t decidedBy = 0;  // the target of the round whose code took or refused it
    bool taken = false;      // by newer code, its old code not yet returned (counted moved)
    bool goneAway = false;   // sent to the other worker, or refused by the retirement
  };
  // The answer one session's thread waits for: woken alone when it comes
  // (with a thousand waiting, waking all at each answer cost a million
  // wake-ups a round).
  struct Awaited {
    Poco::JSON::Object::Ptr answer;  // null: none yet
    std::condition_variable came;
  };
  // A retirement's round: what it sent and the answers, by package id.
  struct Away {
    HandoverRound round;
    std::map<uint64_t, Awaited> answers;
  };

  // Whether the round in progress still asks `session` to move.
  bool asksLocked(const Enrolled &session) const {
    if (away_) return !session.goneAway;
    return round_ && session.generation < round_->target()->number() &&
           session.decidedBy != round_->target()->number();
  }
  // Starts the watcher, which ends rounds at their deadline; false if no thread.
  bool watchLocked();
  // Ends the round if no session it asks is left (or, past its deadline,
  // whatever is), once no answer is awaited.
  void finishIfDoneLocked();
  // Logs the round; the sessions it still asks are left (their bells quiet).
  void finishLocked(bool superseded);
  void watch() noexcept;

  std::string listener_;
  const listener::Generations &generations_;
  session::Traffic &traffic_;
  Poco::Logger &logger_;
  std::mutex mutex_;
  std::condition_variable changed_;  // a round began or ended, or stopping
  std::map<session::StreamSession *, Enrolled> sessions_;
  std::optional<MigrationRound> round_;  // a reload's
  std::optional<Away> away_;             // a retirement's
  bool retired_ = false;                 // its round over: nothing moves any more
  std::chrono::steady_clock::time_point deadline_;
  std::thread watcher_;
  bool stopping_ = false;
};

}  // namespace wharf::dispatch
