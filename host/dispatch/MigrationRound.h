// Internal. One reload's live migration on a reactor loop (migrate = on):
// the generation the older generations' sessions move to, until when a busy
// one is tried again, and what became of them. Each session is tried once
// per tick; one that was refused is not tried again by the same round.
// THREAD: the loop's.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "listener/Generation.h"
#include "session/ReactorSession.h"
#include "session/Traffic.h"

namespace wharf::dispatch {

class MigrationRound {
 public:
  MigrationRound(listener::GenerationPtr target, std::chrono::steady_clock::time_point deadline)
      : target_(std::move(target)), deadline_(deadline) {}

  const listener::GenerationPtr &target() const { return target_; }
  bool overdue(std::chrono::steady_clock::time_point now) const { return now >= deadline_; }
  // Whether the old and the new plugin can carry sessions at all; if not,
  // why (for the log).
  static std::string cannotCarry(const listener::Generation &from, const listener::Generation &to);

  void count(session::ReactorSession::Migration outcome);
  // Counts the sessions still on older generations as left, adds the round
  // to `traffic` and says what it did (for the log).
  std::string finish(size_t left, session::Traffic &traffic);

 private:
  listener::GenerationPtr target_;
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  size_t moved_ = 0;
  size_t exportRefused_ = 0;
  size_t importRefused_ = 0;
};

}  // namespace wharf::dispatch
