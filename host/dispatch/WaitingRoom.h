// Internal. `wait_for_data` and the PROXY header: accepted connections wait here, costing a
// descriptor but no thread, worker or process, until their peer sends
// something (or closes); only then does the mode get them. One that stays
// silent past its deadline is closed. The listening socket is watched by the
// same epoll set, so the accept loop waits on one descriptor for both.
// THREAD: the accept loop's.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "dispatch/PendingSession.h"
#include "net/HostDescriptor.h"

namespace wharf::dispatch {

class WaitingRoom {
 public:
  using Clock = std::chrono::steady_clock;

  // Throws std::system_error if no epoll set can be had.
  explicit WaitingRoom(int listeningSocket);

  // Readable when the listening socket or a waiting connection is.
  int fd() const { return epoll_.fd(); }
  void add(PendingSessionPtr session, Clock::time_point deadline);

  struct Ready {
    bool listening = false;                // a connection or datagram to take
    std::vector<PendingSessionPtr> spoke;  // sent data (or closed): serve them now
  };
  Ready takeReady();
  // Removes the sessions past their deadline and returns them (to be counted
  // by why they waited, then closed).
  std::vector<PendingSessionPtr> takeExpired(Clock::time_point now = Clock::now());
  // How long until the next deadline; -1 (no limit) when none waits.
  std::chrono::milliseconds untilNextDeadline(Clock::time_point now = Clock::now()) const;
  size_t size() const { return waiting_.size(); }

 private:
  struct Waiting {
    PendingSessionPtr session;
    uint64_t ticket;  // which arrival: a descriptor number is reused
  };
  struct Expiry {
    int fd;
    uint64_t ticket;
  };

  void remove(std::map<int, Waiting>::iterator entry);

  int listening_;
  net::HostDescriptor epoll_;
  std::map<int, Waiting> waiting_;  // by connection descriptor
  // By deadline; an entry whose session has left already is skipped.
  std::multimap<Clock::time_point, Expiry> expiries_;
  uint64_t arrivals_ = 0;
};

}  // namespace wharf::dispatch
