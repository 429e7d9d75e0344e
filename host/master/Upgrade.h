// Internal. Binary upgrade in place (SIGUSR2, `wharfctl upgrade`), as
// HAProxy's master does it: the master checks the binary now found at its
// path in a short-lived child (`--check-config`: it starts, takes the
// config, loads every plugin), then re-executes it, keeping its PID (systemd
// keeps tracking it) and handing over what it holds: the listening sockets,
// its workers with their channels, and the config they serve. The new master
// starts new workers; only once they serve do the old ones drain. If they
// cannot start, the old workers serve on.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace wharf::master {

struct InheritedSocket {
  std::string listener;   // the name in the config the old workers serve
  std::string transport;  // as net::transportName gives it
  std::string listen;     // the endpoint as written
  int fd;
  bool owned;  // bound by the master (else passed by systemd, which keeps owning it)
};

struct InheritedWorker {
  pid_t pid;
  int channel;
  std::string group;
  int64_t uptimeMs;
  bool serving;  // of the current set (else: replaced by a reload, draining)
};

// What an upgrading master hands to the binary it executes.
struct Inheritance {
  std::vector<InheritedSocket> sockets;
  std::vector<InheritedWorker> workers;
  std::string configText;  // what the serving workers were given
  std::string fromVersion;
  int64_t uptimeMs = 0;   // of the master, across upgrades
  uint64_t upgrades = 0;  // before this one
};

// THREAD: main. Runs `binary --check-config --config configFile`; throws
// std::runtime_error with what it said if it does not exit 0 within a
// minute.
void checkNewBinary(const std::filesystem::path &binary, const std::filesystem::path &configFile);

// THREAD: main, the only thread left (a worker dies with the thread that
// forked it, and exec ends every other thread). Executes `binary` as the
// master with `inheritance`; returns only if that failed, with errno set
// and every descriptor as it was.
void execUpgrade(const std::filesystem::path &binary, const std::filesystem::path &configFile,
                 const Inheritance &inheritance);

// In a master started by execUpgrade: what it inherited (taken out of the
// environment, so workers do not see it); nullopt in a master started anew.
std::optional<Inheritance> takeInheritance();

}  // namespace wharf::master
