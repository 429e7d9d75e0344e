// Internal. The master process: it reads and checks the config, binds every
// listening socket, serves the control socket and supervises the workers
// that serve. It never loads a plugin, so no plugin can take it down: a
// worker that dies is replaced while the sockets wait in the master.
//   - SIGHUP / `wharfctl reload`: a config the workers can take is handed to
//     them (plugin generations, as in one process); otherwise (workers,
//     isolate, user, group, a new or reshaped fork listener) new workers
//     start with it, and only once they serve do the old ones drain.
//   - SIGUSR2 / `wharfctl upgrade`: the binary at the same path, once it has
//     passed its check and its rehearsal as master, takes over in place
//     (Upgrade.h).
//   - SIGTERM: every worker stops accepting and drains; SIGQUIT cuts.
// It tells systemd (ServiceManager) when it is ready, reloading and stopping,
// and serves the sockets systemd passed it (ActivatedSockets).
#pragma once

#include <Poco/JSON/Object.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/FileWatcher.h"
#include "config/ConfigLoader.h"
#include "control/AdminServer.h"
#include "master/PidFile.h"
#include "master/ServiceManager.h"
#include "master/TaskQueue.h"
#include "master/TicketKeyRing.h"
#include "master/Upgrade.h"
#include "master/WorkerSet.h"
#include "master/ZoneSpace.h"
#include "metrics/MetricsServer.h"
#include "net/FileDescriptor.h"

namespace wharf::master {

struct MasterOptions {
  std::filesystem::path configFile;
  std::filesystem::path binary;  // wharfd itself, that workers are exec'd from
};

class Master {
 public:
  explicit Master(MasterOptions options);
  ~Master();

  // THREAD: main, with app::daemonSignals() blocked. Returns the exit status.
  int run();
  // THREAD: main. `wharfd --rehearse-upgrade`, run by an upgrading master:
  // with the sockets it handed over, starts this binary's workers for the
  // config, every listener paused, then stops them. Returns 0 once they all
  // reported ready, 2 with the reason logged otherwise.
  int runRehearsal();

 private:
  using Clock = std::chrono::steady_clock;

  struct Retiring {
    std::unique_ptr<WorkerSet> workers;
    Clock::time_point since;
    bool cut = false;
  };

  void start();  // throws on the first error: nothing then runs
  // start() in a master exec'd by an upgrade: adopts what the old one held,
  // then starts new workers (or keeps the old ones serving).
  void resume(const Inheritance &inheritance);
  // The control socket and the metrics endpoint, as `config` says; closed
  // before an exec (their threads end) and at the end.
  void openControl(const config::Config &config);
  void closeControl();
  std::unique_ptr<metrics::MetricsServer> openMetrics(const net::Endpoint &endpoint);
  // A reload's change of [host] metrics: the new address is bound before the
  // old one closes (if it cannot be, the old one stays). What changed, if anything.
  std::optional<std::string> moveMetrics(const std::optional<net::Endpoint> &next);
  std::unique_ptr<control::AdminServer> openAdminSocket(const config::Config &config);
  // Logs "wharfd VERSION ready, ..." and tells the service manager (tellReady).
  // THREAD: main. Log files are opened here only (logging/LogFileOpen),
  // guarded against the workers' user when they run as another one.
  void configureLogging(const config::Config &config);
  // Log files are opened guarded against the users the workers of `config`
  // (and of `also`, and of every set still draining) run as, but root.
  void guardLogFiles(const config::Config &config, const config::Config *also = nullptr);
  // THREAD: main. SIGUSR1 or `wharfctl reopen` (`cause`): every log file
  // opened again by its path, and the workers given the new descriptors.
  // Returns why each file that could not be reopened could not.
  std::vector<std::string> reopenLogFiles(const std::string &cause);
  void announceReady();
  void tellReady() const;
  std::string summary() const;  // "N listeners, M workers"
  // Since the first start, across binary upgrades.
  std::chrono::milliseconds uptime() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
  }
  void supervise();
  // Runs what is due; returns how long the loop may sleep.
  std::chrono::milliseconds runTimers();
  void reapChildren();
  // Rotates the session ticket keys that are due, or all (`wharfctl
  // rotate-tickets`), or replaces all (`wharfctl purge-tickets`), and passes
  // them to the serving workers; returns the listeners whose keys changed.
  enum class Rotation { Due, All, Purge };
  std::vector<std::string> rotateTicketKeys(Rotation rotation);
  // Reads the config file again, or applies `runningText` (the config it
  // runs) with the files it names as they are now.
  std::vector<std::string> reload(std::optional<std::string> runningText);
  // [host] watch = true: a replaced TLS certificate, key or CA file of
  // `config` reloads the running config (reloadChangedTlsFiles, on the loop).
  void watchTlsFiles(const config::Config &config);
  void reloadChangedTlsFiles();
  // Why the running workers cannot take `next` (empty: they can).
  std::string needsNewWorkers(const config::Config &next) const;
  void reportStatus(Poco::JSON::Object &reply);
  // THREAD: main, from the loop. One upgrade attempt (SIGUSR2, or asked
  // for by `wharfctl upgrade`, which then follows it in status): the binary
  // at our path is proven, then executed. Its outcome is in last_upgrade.
  void upgrade(std::chrono::milliseconds allowed);
  // Opens the binary at our path, checks and rehearses it, all within
  // `allowed`; throws with what it said (recorded and logged).
  NewBinary proveUpgrade(std::chrono::milliseconds allowed);
  // While the check or rehearsal runs: the loop's work goes on (control
  // requests, heartbeats, workers reaped and replaced, the watchdog); false
  // once a stop signal waits, which ends the upgrade.
  bool whileUpgradeWaits();
  // What this master holds, as an exec'd binary takes it over.
  Inheritance inheritance() const;
  void execute(const NewBinary &binary);
  void recordUpgrade(const std::string &result, const std::string &from, const std::string &error);
  void stop(int signal);

  MasterOptions options_;
  config::ConfigLoader loader_;
  Clock::time_point started_;
  net::FileDescriptor signals_;  // a signalfd of app::daemonSignals()
  ServiceManager service_;
  TaskQueue tasks_;
  std::unique_ptr<WorkerCgroups> cgroups_;  // outlives the workers placed in them
  ZoneSpace zones_;                         // before any worker starts
  TicketKeyRing ticketKeys_;                // outlives the worker sets that pass them
  std::unique_ptr<WorkerSet> workers_;      // serving the current config
  std::vector<Retiring> retiring_;          // replaced by a reload, draining
  std::unique_ptr<control::AdminServer> admin_;
  std::unique_ptr<metrics::MetricsServer> metrics_;
  std::unique_ptr<app::FileWatcher> tlsWatcher_;  // [host] watch with tls listeners
  std::unique_ptr<PidFile> pidFile_;
  // Asked for by the control socket, for the loop to carry out, within this.
  std::optional<std::chrono::milliseconds> upgradeAsked_;
  bool upgrading_ = false;        // a check or rehearsal runs
  uint64_t upgradeAttempts_ = 0;  // by this master's PID: last_upgrade's "attempt"
  uint64_t upgrades_ = 0;         // binary upgrades this master's PID has seen
  uint64_t reloadsApplied_ = 0;   // by this master process, for status
  uint64_t reloadsRefused_ = 0;
  std::optional<std::chrono::system_clock::time_point> lastReload_;  // applied or refused
  Poco::JSON::Object::Ptr lastUpgrade_;                              // its result, for status
};

}  // namespace wharf::master
