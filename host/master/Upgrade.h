// Internal. Binary upgrade in place (SIGUSR2, `wharfctl upgrade`), as
// HAProxy's master does it, with the binary proven first. The master opens
// the binary now found at its path (NewBinary) and, in short-lived
// children with deadlines, (1) checks it (`--check-config`: it takes the
// config and loads every plugin, as the workers' user) and (2) rehearses
// it as master (`--rehearse-upgrade`: handed the listening sockets, it
// starts its own workers, with every listener paused so no connection
// reaches them, reports them ready and stops them). Only then does it
// re-execute that file, keeping its PID (systemd keeps tracking it) and
// handing over what it holds: the listening sockets, its workers with their
// channels, and the config they serve. The new master starts new workers;
// only once they serve do the old ones drain. If they cannot start, the old
// workers serve on. A binary too old to rehearse is checked only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/Config.h"
#include "master/NewBinary.h"

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
  bool serving;        // of the current set (else: replaced by a reload, draining)
  int crashPage = -1;  // its crash page (-1: none, a worker an older master started)
};

// What an upgrading master hands to the binary it executes.
struct Inheritance {
  std::vector<InheritedSocket> sockets;
  std::vector<InheritedWorker> workers;
  std::string configText;  // what the serving workers were given
  // The TLS files it names, as the old master read them: the new one parses
  // the config it adopts with these, not with files that may have moved since.
  // nullopt: an old master passed none (read them from disk).
  std::optional<config::HeldFiles> heldFiles;
  // The TLS session ticket keys (TicketKeyRing's hand-over form), so that
  // tickets issued before the upgrade resume after it. nullopt: an old
  // master passed none.
  std::optional<std::string> ticketKeys;
  std::string fromVersion;
  int64_t uptimeMs = 0;   // of the master, across upgrades
  uint64_t upgrades = 0;  // before this one
  uint64_t attempts = 0;  // this one included: its number in last_upgrade
};

// How long each of the check and the rehearsal may take at most.
constexpr std::chrono::seconds kMaxUpgradeStep{60};

// While a check or a rehearsal runs: called at least every 100 ms; false
// stops it (wharfd is stopping).
using UpgradeWaiter = std::function<bool()>;

// THREAD: main. Runs `binary --check-config --config configFile`; throws
// std::runtime_error with what it said if it does not exit 0 by `deadline`.
void checkNewBinary(const NewBinary &binary, const std::filesystem::path &configFile,
                    std::chrono::steady_clock::time_point deadline, const UpgradeWaiter &waiter);

// THREAD: main. Runs `binary --rehearse-upgrade` with `inheritance`'s
// sockets. Returns false if the binary predates rehearsals; throws
// std::runtime_error with what it said if it does not report its workers
// ready and exit 0 by `deadline`.
bool rehearseUpgrade(const NewBinary &binary, const std::filesystem::path &configFile,
                     const Inheritance &inheritance, std::chrono::steady_clock::time_point deadline,
                     const UpgradeWaiter &waiter);

// THREAD: main, the only thread left (a worker dies with the thread that
// forked it, and exec ends every other thread). Executes `binary` as the
// master with `inheritance`; returns only if that failed, with errno set
// and every descriptor as it was.
void execUpgrade(const NewBinary &binary, const std::filesystem::path &configFile,
                 const Inheritance &inheritance);

// In a master started by execUpgrade: what it inherited (taken out of the
// environment, so workers do not see it); nullopt in a master started anew.
std::optional<Inheritance> takeInheritance();

}  // namespace wharf::master
