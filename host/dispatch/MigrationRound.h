// Internal. One reload's live migration (migrate = on): the generation the
// older generations' sessions move to, until when a busy one is tried again,
// and what became of them. On a reactor a session is tried once per loop
// tick; a blocking-style one when its plugin hands it over. One refused is
// not tried again by the same round. A newer reload supersedes the round:
// the sessions it had not moved are the newer round's to try, not counted
// here. THREAD: one at a time (the loop's, or under BlockingMigration's lock).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "listener/Generation.h"
#include "session/Migration.h"
#include "session/Traffic.h"

namespace wharf::dispatch {

// "12.3 ms", for a round's log line.
std::string milliseconds(std::chrono::nanoseconds duration);

class MigrationRound {
 public:
  // `pauseName`: what the longest pause a moved session saw is, in the log
  // ("longest loop turn" on a reactor).
  MigrationRound(listener::GenerationPtr target, std::chrono::steady_clock::time_point deadline,
                 const char *pauseName = "longest loop turn")
      : target_(std::move(target)), deadline_(deadline), pauseName_(pauseName) {}

  const listener::GenerationPtr &target() const { return target_; }
  bool overdue(std::chrono::steady_clock::time_point now) const { return now >= deadline_; }

  // What became of one session (not NotCarried: notCarried() says why).
  void count(session::Migration outcome);
  void notCarried(const std::string &why) {
    if (notCarried_++ == 0) notCarriedWhy_ = why;
  }
  // A moved session went unserved for `held` (a reactor: one loop turn of the
  // round): the log has the longest.
  void noteTurn(std::chrono::nanoseconds held) { longestTurn_ = std::max(longestTurn_, held); }
  // Counts the sessions still on older generations as left (unless
  // `superseded`), adds the round to `traffic` and says what it did (for the log).
  std::string finish(size_t left, bool superseded, session::Traffic &traffic);

 private:
  listener::GenerationPtr target_;
  std::chrono::steady_clock::time_point deadline_;
  const char *pauseName_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::nanoseconds longestTurn_{0};
  size_t moved_ = 0;
  size_t notCarried_ = 0;
  std::string notCarriedWhy_;  // of the first such session
  size_t exportRefused_ = 0;
  size_t importRefused_ = 0;
};

}  // namespace wharf::dispatch
