// Internal. What the master tells its service manager (systemd, when it set
// NOTIFY_SOCKET; nothing otherwise), through libsystemd's sd_notify: ready
// once every worker serves, reloading and ready again around a reload or an
// upgrade, stopping, a one-line status, and watchdog pings when the unit
// sets WatchdogSec=.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace wharf::master {

class ServiceManager {
 public:
  ServiceManager();

  // THREAD: main, each of them.
  void ready(const std::string &status) const;  // with MAINPID: after an upgrade too
  void reloading(const std::string &status) const;
  void stopping() const;
  void status(const std::string &status) const;
  // Pings the watchdog if it is time and the service is `healthy` (every
  // worker answers its heartbeat); returns when the next ping is due.
  std::optional<std::chrono::steady_clock::time_point> pingWatchdog(bool healthy);

 private:
  std::optional<std::chrono::microseconds> watchdogPeriod_;  // half of WatchdogSec=
  std::chrono::steady_clock::time_point nextPing_;
};

// The variables only the master may see (a worker that inherited them could
// notify on the master's behalf, or think sockets were passed to it).
bool isServiceManagerVariable(const char *entry);

}  // namespace wharf::master
