// Internal. Wakes a thread that waits for a socket to become readable, so that
// loops blocked in accept/recv can stop promptly. Thread-safe.
#pragma once

#include <chrono>

#include "net/HostDescriptor.h"

namespace wharf::net {

class StopSignal {
 public:
  StopSignal();

  // Any thread. Idempotent: once requested, every wait returns false.
  void request();
  bool requested() const;

  // Blocks until `fd` is readable (true) or a stop is requested (false).
  bool waitReadable(int fd) const;
  enum class Wait { Readable, TimedOut, Stopped };
  // As waitReadable, for at most `timeout` (negative: no limit).
  Wait waitReadableFor(int fd, std::chrono::milliseconds timeout) const;
  // Sleeps for `duration`; false if a stop was requested meanwhile.
  bool sleepFor(std::chrono::nanoseconds duration) const;

 private:
  HostDescriptor event_;  // an eventfd, readable once a stop is requested
};

}  // namespace wharf::net
