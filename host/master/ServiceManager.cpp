#include "master/ServiceManager.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdint>
#include <string_view>

namespace wharf::master {
namespace {

void notify(const std::string &state) {
  sd_notify(0, state.c_str());  // no NOTIFY_SOCKET: nothing to tell, nothing done
}

}  // namespace

ServiceManager::ServiceManager() : nextPing_(std::chrono::steady_clock::now()) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
    watchdogPeriod_ = std::chrono::microseconds(usec / 2);
}

void ServiceManager::ready(const std::string &status) const {
  notify("READY=1\nMAINPID=" + std::to_string(::getpid()) + "\nSTATUS=" + status);
}

void ServiceManager::reloading(const std::string &status) const {
  notify("RELOADING=1\nSTATUS=" + status);
}

void ServiceManager::stopping() const {
  notify("STOPPING=1\nSTATUS=stopping");
}

void ServiceManager::status(const std::string &status) const {
  notify("STATUS=" + status);
}

std::optional<std::chrono::steady_clock::time_point> ServiceManager::pingWatchdog(bool healthy) {
  if (!watchdogPeriod_) return std::nullopt;
  auto now = std::chrono::steady_clock::now();
  if (now >= nextPing_ && healthy) {
    notify("WATCHDOG=1");
    nextPing_ = now + *watchdogPeriod_;
  }
  return nextPing_;
}

bool isServiceManagerVariable(const char *entry) {
  std::string_view variable(entry);
  for (std::string_view name : {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=", "LISTEN_FDS=",
                                "LISTEN_PID=", "LISTEN_FDNAMES="})
    if (variable.starts_with(name)) return true;
  return false;
}

}  // namespace wharf::master
