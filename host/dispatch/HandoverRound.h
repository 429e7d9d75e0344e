// Internal. A retiring worker's live migration of one listener's sessions to
// the worker that replaces it (migrate = on): the link to that worker, until
// when a busy session is tried again, and what became of them. On a reactor
// a session is tried once per loop tick until it is sent; a blocking-style
// one when its plugin hands it over. One sent waits, frozen, for the other
// worker's answer; one refused, or that stays (TLS, no session_export), is
// not tried again. THREAD: one at a time (the loop's, or under
// BlockingMigration's lock).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "dispatch/HandoverLink.h"
#include "session/Traffic.h"

namespace wharf::dispatch {

class HandoverRound {
 public:
  // `pauseName`: what the longest pause a moved session saw is, in the log.
  HandoverRound(std::shared_ptr<HandoverLink> link, pid_t to,
                std::chrono::steady_clock::time_point deadline,
                const char *pauseName = "longest loop turn")
      : link_(std::move(link)), to_(to), deadline_(deadline), pauseName_(pauseName) {}

  // Null once the link has gone.
  const std::shared_ptr<HandoverLink> &link() const { return link_; }
  void linkGone() { link_.reset(); }
  bool overdue(std::chrono::steady_clock::time_point now) const { return now >= deadline_; }
  uint64_t nextId() { return ++lastId_; }

  void moved() { ++moved_; }
  // `why` of the first refusal goes to the log line.
  void refused(const std::string &why) {
    if (refused_++ == 0) refusedWhy_ = why;
  }
  void stays() { ++stays_; }
  void noteTurn(std::chrono::nanoseconds held) { longestTurn_ = std::max(longestTurn_, held); }
  // Counts the `left` sessions still busy at the end, adds the round to
  // `traffic` and says what it did (for the log).
  std::string finish(size_t left, session::Traffic &traffic);

 private:
  std::shared_ptr<HandoverLink> link_;
  pid_t to_;
  std::chrono::steady_clock::time_point deadline_;
  const char *pauseName_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::nanoseconds longestTurn_{0};
  uint64_t lastId_ = 0;
  size_t moved_ = 0;
  size_t refused_ = 0;
  std::string refusedWhy_;
  size_t stays_ = 0;
};

}  // namespace wharf::dispatch
