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
  HandoverRound(std::shared_ptr<HandoverLink> link, pid_t to,
                std::chrono::steady_clock::time_point deadline)
      : link_(std::move(link)), to_(to), deadline_(deadline) {}

  // Null once the link has gone.
  const std::shared_ptr<HandoverLink> &link() const { return link_; }
  void linkGone() { link_.reset(); }
  bool overdue(std::chrono::steady_clock::time_point now) const { return now >= deadline_; }
  uint64_t nextId() { return ++lastId_; }

  // One moved after `paused`: frozen here from its export to the other
  // worker's answer, which that worker sends just before it serves it.
  void moved(std::chrono::nanoseconds paused) {
    ++moved_;
    longestPause_ = std::max(longestPause_, paused);
  }
  // `why` of the first refusal goes to the log line.
  void refused(const std::string &why) {
    if (refused_++ == 0) refusedWhy_ = why;
  }
  void stays() { ++stays_; }
  // Counts the `left` sessions still busy at the end, adds the round to
  // `traffic` and says what it did (for the log).
  std::string finish(size_t left, session::Traffic &traffic);

 private:
  std::shared_ptr<HandoverLink> link_;
  pid_t to_;
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::nanoseconds longestPause_{0};
  uint64_t lastId_ = 0;
  size_t moved_ = 0;
  size_t refused_ = 0;
  std::string refusedWhy_;
  size_t stays_ = 0;
};

}  // namespace wharf::dispatch
