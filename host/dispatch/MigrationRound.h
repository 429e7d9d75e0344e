// Internal. One reload's live migration on a reactor loop (migrate = on):
// the generation the older generations' sessions move to, until when a busy
// one is tried again, and what became of them. A session is tried once per
// loop tick; one refused is not tried again by the same round. A newer
// reload supersedes the round: the sessions it had not moved are the newer
// round's to try, not counted here.
// THREAD: the loop's.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "listener/Generation.h"
#include "session/ReactorSession.h"
#include "session/Traffic.h"

namespace wharf::dispatch {

// "12.3 ms", for a round's log line.
std::string milliseconds(std::chrono::nanoseconds duration);

class MigrationRound {
 public:
  MigrationRound(listener::GenerationPtr target, std::chrono::steady_clock::time_point deadline)
      : target_(std::move(target)), deadline_(deadline) {}

  const listener::GenerationPtr &target() const { return target_; }
  bool overdue(std::chrono::steady_clock::time_point now) const { return now >= deadline_; }

  // What became of one session moving from generation `from`.
  void count(session::ReactorSession::Migration outcome, const listener::Generation &from);
  // One loop turn of the round took `held`: the longest is the longest pause
  // a moved session saw.
  void noteTurn(std::chrono::nanoseconds held) { longestTurn_ = std::max(longestTurn_, held); }
  // Counts the sessions still on older generations as left (unless
  // `superseded`), adds the round to `traffic` and says what it did (for the log).
  std::string finish(size_t left, bool superseded, session::Traffic &traffic);

 private:
  listener::GenerationPtr target_;
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::nanoseconds longestTurn_{0};
  size_t moved_ = 0;
  size_t notCarried_ = 0;
  std::string notCarriedWhy_;  // of the first such session
  size_t exportRefused_ = 0;
  size_t importRefused_ = 0;
};

}  // namespace wharf::dispatch
