#include "master/Master.h"

#include <Poco/JSON/Array.h>
#include <Poco/Logger.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <system_error>
#include <utility>

#include "app/ConfigLoading.h"
#include "app/FileWatcher.h"
#include "app/Logging.h"
#include "app/ProcessLimits.h"
#include "app/Signals.h"
#include "app/Version.h"
#include "config/IniDocument.h"
#include "dispatch/DispatchMode.h"
#include "logging/LineSink.h"
#include "master/ActivatedSockets.h"
#include "master/MasterCapabilities.h"
#include "master/StatusMerge.h"
#include "process/Account.h"
#include "process/Identity.h"
#include "process/ProcessSample.h"

namespace wharf::master {
namespace {

// The loop wakes at least this often to replace workers and end drains.
constexpr auto kTick = std::chrono::milliseconds(250);
// After shutdown_timeout (or drain_timeout), a worker has this long to exit
// before it is killed.
constexpr auto kExitGrace = std::chrono::seconds(10);

Poco::Logger &logger() {
  return Poco::Logger::get("master");
}

// The groups of workers and who they run as (not which listeners share "main").
std::vector<std::pair<std::string, config::WorkersUser>> groupsAndUsers(
    const config::Config &config) {
  std::vector<std::pair<std::string, config::WorkersUser>> groups;
  for (const auto &group : workerGroupsOf(config)) groups.emplace_back(group.name, group.user);
  return groups;
}

}  // namespace

Master::Master(MasterOptions options)
    : options_(std::move(options)), loader_(app::makeConfigLoader()), started_(Clock::now()) {
  sigset_t signals = app::daemonSignals();
  signals_ = net::FileDescriptor(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals_.valid()) throw std::system_error(errno, std::generic_category(), "signalfd");
}

Master::~Master() = default;

int Master::run() {
  app::configureLogging("information");
  try {
    start();
  } catch (const std::exception &error) {
    tasks_.close("wharfd did not start");  // a control request waiting for it fails now
    logger().error(error.what());
    logger().error("nothing started");
    return 2;
  }
  supervise();
  return 0;
}

void Master::start() {
  cgroups_ = WorkerCgroups::open();
  if (auto inheritance = takeInheritance()) return resume(*inheritance);
  std::string text = config::IniDocument::readText(options_.configFile);
  config::Config config = loader_.parse(options_.configFile, text);
  configureLogging(config);
  for (const auto &warning : config.warnings) logger().warning(warning);
  ::prctl(PR_SET_DUMPABLE, config.host.coreDumps ? 1 : 0, 0, 0, 0);  // main() cleared it
  std::vector<WorkerGroup> groups = workerGroupsOf(config);
  bool rootWorkers = std::any_of(groups.begin(), groups.end(),
                                 [](const WorkerGroup &group) { return group.user.user.empty(); });
  if (::geteuid() == 0 && rootWorkers)
    logger().warning("running as root with no [host] user: plugins run as root");
  logger().information(app::raiseOpenFileLimit());
  ActivatedSockets activated = ActivatedSockets::take();
  SocketSet sockets = SocketSet::bindFor(config, SocketSet(), &activated);
  if (!activated.empty())
    logger().warning("sockets systemd passed for no listener (closed): " + activated.unclaimed());
  openControl(config);
  // Only when no worker runs as root: workers inherit the master's bounding set.
  if (::geteuid() == 0 && !rootWorkers) logger().information(keepMasterCapabilities());
  ticketKeys_.follow(config);
  workers_ = std::make_unique<WorkerSet>(options_.binary, cgroups_.get(), ticketKeys_, config,
                                         std::move(text), std::move(sockets));
  workers_->start();
  announceReady();
}

void Master::configureLogging(const config::Config &config) {
  guardLogFiles(config);
  app::configureLogging(config.host.logLevel, config.host.log);
}

void Master::guardLogFiles(const config::Config &config, const config::Config *also) {
  std::vector<config::WorkersUser> users = config.workersUsers();
  auto add = [&users](const config::Config &more) {  // each looked up once below
    for (const auto &user : more.workersUsers())
      if (std::find(users.begin(), users.end(), user) == users.end()) users.push_back(user);
  };
  if (also != nullptr) add(*also);
  for (const auto &retiring : retiring_) add(retiring.workers->config());
  std::vector<process::Account> workers;
  for (const auto &[user, group] : users)
    if (!user.empty() && ::geteuid() == 0)
      if (auto account = process::lookUpAccount(user, group); account.uid != 0)
        workers.push_back(std::move(account));
  logging::setFileAccess(logging::FileAccess::Open, std::move(workers));
}

std::vector<std::string> Master::reopenLogFiles(const std::string &cause) {
  std::vector<std::string> failures = app::reopenLogFiles(cause);
  workers_->passLogFiles();
  for (auto &retiring : retiring_) retiring.workers->passLogFiles();
  return failures;
}

std::string Master::summary() const {
  return std::to_string(workers_->config().listeners.size()) + " listeners, " +
         std::to_string(workers_->size()) + " workers";
}

void Master::announceReady() {
  logger().notice(std::string("wharfd ") + app::version() + " ready, " + summary() + ", pid " +
                  std::to_string(::getpid()) + ", build " + app::buildId());
  tellReady();
}

void Master::tellReady() const {
  service_.ready("wharfd " + std::string(app::version()) + ": " + summary());
}

void Master::openControl(const config::Config &config) {
  // Kept across a failed upgrade's reopening: the pid has not changed.
  if (!pidFile_ && !config.host.pidFile.empty())
    pidFile_ = std::make_unique<PidFile>(config.host.pidFile);
  admin_ = openAdminSocket(config);
  if (const auto &endpoint = config.host.metrics) metrics_ = openMetrics(*endpoint);
  watchTlsFiles(config);
}

void Master::watchTlsFiles(const config::Config &config) {
  std::vector<std::filesystem::path> files;
  if (config.host.watch)
    for (const auto &[path, contents] : config.heldFiles(std::nullopt)) files.push_back(path);
  if (files.empty()) {
    tlsWatcher_.reset();
    return;
  }
  if (tlsWatcher_ && tlsWatcher_->files() == files) return;
  tlsWatcher_ = std::make_unique<app::FileWatcher>(
      files, [this] { tasks_.post([this] { reloadChangedTlsFiles(); }); });
}

void Master::reloadChangedTlsFiles() {
  logger().notice(
      "watch: a TLS certificate, key or CA file changed: applying the running "
      "config with the files as they are now");
  try {
    reload(workers_->configText());
  } catch (const std::exception &) {
    // logged by reload(); the old certificates serve on
  }
}

std::unique_ptr<metrics::MetricsServer> Master::openMetrics(const net::Endpoint &endpoint) {
  return std::make_unique<metrics::MetricsServer>(endpoint, [this] {
    Poco::JSON::Object::Ptr status = new Poco::JSON::Object;
    tasks_.runOnMain([&] { reportStatus(*status); });
    return status;
  });
}

std::optional<std::string> Master::moveMetrics(const std::optional<net::Endpoint> &next) {
  std::string now = metrics_ ? metrics_->endpoint().text : "";
  if ((next ? next->text : "") == now) return std::nullopt;
  if (!next) {
    metrics_.reset();
    return "[host] metrics: off (was " + now + ")";
  }
  try {
    auto moved = openMetrics(*next);  // before the old one closes: a failure keeps it
    metrics_ = std::move(moved);
    return "[host] metrics: now " + next->text + (now.empty() ? "" : " (was " + now + ")");
  } catch (const std::exception &error) {
    return std::string("[host] metrics: kept ") + (now.empty() ? "off" : now) + ": " + error.what();
  }
}

void Master::closeControl() {
  tlsWatcher_.reset();
  metrics_.reset();
  admin_.reset();
}

std::unique_ptr<control::AdminServer> Master::openAdminSocket(const config::Config &config) {
  if (config.host.adminSocket.empty()) return nullptr;
  std::map<std::string, control::AdminServer::Handler> commands;
  commands["status"] = [this](const Poco::JSON::Object &, Poco::JSON::Object &reply) {
    tasks_.runOnMain([&] { reportStatus(reply); });
  };
  commands["stop"] = [](const Poco::JSON::Object &, Poco::JSON::Object &reply) {
    reply.set("stopping", true);
    ::kill(::getpid(), SIGTERM);  // the same graceful path as an operator's SIGTERM
  };
  commands["upgrade"] = [this](const Poco::JSON::Object &request, Poco::JSON::Object &reply) {
    // Answered at once (this thread serves every control request); the loop
    // proves the binary within two thirds of what wharfctl waits (--timeout),
    // leaving it the rest for the new workers, and wharfctl follows the
    // attempt in status.
    auto allowed = std::chrono::milliseconds(
        std::clamp<int64_t>(request.optValue<int64_t>("timeout_ms", 180000) / 3 * 2, 1000,
                            2 * std::chrono::milliseconds(kMaxUpgradeStep).count()));
    tasks_.runOnMain([&] {
      if (upgrading_ || upgradeAsked_) throw std::runtime_error("an upgrade is already under way");
      upgradeAsked_ = allowed;
      reply.set("upgrades", upgrades_);
      reply.set("attempt", upgradeAttempts_ + 1);
      reply.set("pid", static_cast<int>(::getpid()));  // wharfctl notices if it exits
    });
  };
  commands["reopen"] = [this](const Poco::JSON::Object &, Poco::JSON::Object &reply) {
    Poco::JSON::Array::Ptr failures = new Poco::JSON::Array;
    tasks_.runOnMain([&] {
      for (const auto &failure : reopenLogFiles("wharfctl reopen")) failures->add(failure);
    });
    reply.set("failures", failures);
  };
  for (bool purge : {false, true})
    commands[purge ? "purge-tickets" : "rotate-tickets"] =
        [this, purge](const Poco::JSON::Object &, Poco::JSON::Object &reply) {
          Poco::JSON::Array::Ptr listeners = new Poco::JSON::Array;
          tasks_.runOnMain([&] {
            for (const auto &listener : rotateTicketKeys(purge ? Rotation::Purge : Rotation::All))
              listeners->add(listener);
          });
          reply.set("listeners", listeners);
        };
  commands["reload"] = [this](const Poco::JSON::Object &, Poco::JSON::Object &reply) {
    Poco::JSON::Array::Ptr changes = new Poco::JSON::Array;
    tasks_.runOnMain([&] {
      for (const auto &change : reload(std::nullopt)) changes->add(change);
    });
    reply.set("changes", changes);
  };
  return std::make_unique<control::AdminServer>(config.host.adminSocket, std::move(commands));
}

void Master::supervise() {
  for (;;) {
    auto sleep = runTimers();
    pollfd ready[2] = {{signals_.fd(), POLLIN, 0}, {tasks_.fd(), POLLIN, 0}};
    if (::poll(ready, 2, static_cast<int>(sleep.count())) <= 0) continue;
    if (ready[1].revents) tasks_.runPending();
    if (auto allowed = std::exchange(upgradeAsked_, std::nullopt)) upgrade(*allowed);
    signalfd_siginfo info{};
    while (::read(signals_.fd(), &info, sizeof info) == sizeof info) {
      int signal = static_cast<int>(info.ssi_signo);
      if (signal == SIGCHLD) {
        reapChildren();
      } else if (signal == SIGHUP) {
        logger().notice("SIGHUP: reloading " + options_.configFile.string());
        try {
          reload(std::nullopt);
        } catch (const std::exception &) {
          // logged by reload(); the old state keeps serving
        }
      } else if (signal == SIGUSR1) {
        reopenLogFiles("SIGUSR1");
      } else if (signal == SIGUSR2) {
        logger().notice("SIGUSR2: upgrading to the binary at " + options_.binary.string());
        upgrade(2 * kMaxUpgradeStep);
      } else if (signal == SIGTERM || signal == SIGINT || signal == SIGQUIT) {
        return stop(signal);
      }
    }
  }
}

std::vector<std::string> Master::rotateTicketKeys(Rotation rotation) {
  std::vector<std::string> rotated = rotation == Rotation::Purge
                                         ? ticketKeys_.purge()
                                         : ticketKeys_.rotate(rotation == Rotation::All);
  if (rotated.empty()) return rotated;
  workers_->passTicketKeys(rotated);
  logger().notice(std::string("session ticket keys ") +
                  (rotation == Rotation::Purge ? "replaced, all of them: " : "rotated: ") +
                  config::joined(rotated));
  return rotated;
}

std::chrono::milliseconds Master::runTimers() {
  auto wake = Clock::now() + kTick;
  try {
    rotateTicketKeys(Rotation::Due);
  } catch (const std::exception &error) {  // no random bytes: the keys in use stay
    logger().error(std::string("session ticket keys not rotated: ") + error.what());
  }
  if (auto next = workers_->replaceDue(); next && *next < wake) wake = *next;
  bool healthy = workers_->checkHeartbeats();
  workers_->enforceMemoryLimit();
  for (auto &retiring : retiring_) retiring.workers->enforceMemoryLimit();
  if (cgroups_) cgroups_->removeEmptied();
  if (auto next = service_.pingWatchdog(healthy); next && *next < wake) wake = *next;
  auto drainTimeout = workers_->config().host.drainTimeout;
  for (auto &retiring : retiring_) {
    if (retiring.cut || Clock::now() < retiring.since + drainTimeout + kExitGrace) continue;
    retiring.cut = true;
    logger().warning("drain_timeout: killing the replaced workers still running");
    retiring.workers->signalAll(SIGKILL);
  }
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now()));
}

void Master::reapChildren() {
  int status = 0;
  for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
    bool known = workers_->reaped(pid, status);
    for (auto &retiring : retiring_) known = known || retiring.workers->reaped(pid, status);
    if (!known) logger().debug("child " + std::to_string(pid) + " reaped");
  }
  std::erase_if(retiring_, [](const Retiring &retiring) { return retiring.workers->finished(); });
}

std::string Master::needsNewWorkers(const config::Config &next) const {
  const config::Config &current = workers_->config();
  if (next.host.workers != current.host.workers) return "[host] workers changed";
  if (next.host.user != current.host.user || next.host.group != current.host.group)
    return "[host] user or group changed";
  if (groupsAndUsers(next) != groupsAndUsers(current))
    return "isolate, or an isolated user, changed";
  for (const auto &listener : next.listeners) {
    const dispatch::DispatchMode *mode = dispatch::findDispatchMode(listener.mode);
    if (mode == nullptr || !mode->startsOnlyAtLaunch) continue;
    const config::ListenerConfig *kept = nullptr;
    for (const auto &running : current.listeners)
      if (running.endpoint.sameAddressAs(listener.endpoint) && running.sameShapeAs(listener))
        kept = &running;
    if (kept == nullptr) return "[" + listener.section() + "] is a new or reshaped fork listener";
    if (!(kept->tls == listener.tls))  // its helper has the context it was forked with
      return "[" + listener.section() + "] is a fork listener whose TLS changed";
  }
  return "";
}

std::vector<std::string> Master::reload(std::optional<std::string> runningText) {
  service_.reloading("reloading " + options_.configFile.string());
  // Whatever the outcome, the reload is over (status keeps its time) and the
  // service is ready again: a refused reload leaves the old state serving.
  struct Over {
    Master &master;
    ~Over() {
      master.lastReload_ = std::chrono::system_clock::now();
      master.tellReady();
    }
  } over{*this};
  try {
    if (upgrading_) throw std::runtime_error("an upgrade is under way: reload once it is over");
    std::string text =
        runningText ? *std::move(runningText) : config::IniDocument::readText(options_.configFile);
    config::Config next = loader_.parse(options_.configFile, text);
    for (const auto &warning : next.warnings) logger().warning(warning);
    guardLogFiles(next, &workers_->config());  // both configs' workers write meanwhile
    SocketSet before = workers_->sockets();
    config::HostConfig host = workers_->config().host;
    SocketSet sockets = SocketSet::bindFor(next, before);
    std::vector<std::string> changes;
    // The keys of listeners kept stay theirs; a refused reload leaves the ring as it was.
    TicketKeyRing keysBefore = ticketKeys_;
    try {
      ticketKeys_.follow(next);
      if (std::string reason = needsNewWorkers(next); reason.empty()) {
        changes = workers_->reload(next, text, sockets, before);
      } else {
        auto fresh = std::make_unique<WorkerSet>(options_.binary, cgroups_.get(), ticketKeys_, next,
                                                 text, sockets);
        fresh->start();  // throws (the new workers killed) with the old ones serving on
        size_t handing = workers_->retire(fresh.get());
        retiring_.push_back({std::move(workers_), Clock::now()});
        workers_ = std::move(fresh);
        changes.push_back("new workers (" + reason + "): " + std::to_string(workers_->size()) +
                          " serving; the replaced ones drain" +
                          (handing > 0 ? ", " + std::to_string(handing) +
                                             " handing their migrate = on sessions over"
                                       : std::string()));
      }
    } catch (...) {
      ticketKeys_ = std::move(keysBefore);
      throw;
    }
    sockets.stopAbandoned(before);
    if (next.host.adminSocket != host.adminSocket)
      changes.push_back("[host] admin: a new control socket path takes effect at restart");
    if (next.host.pidFile != host.pidFile)
      changes.push_back("[host] pid_file: a new path takes effect at restart");
    if (next.host.logLevel != host.logLevel) app::setLogLevel(next.host.logLevel);
    if (next.host.log != host.log)
      changes.push_back("[host] log: a new destination takes effect at restart or upgrade");
    if (auto moved = moveMetrics(next.host.metrics)) changes.push_back(*moved);
    for (const auto &change : changes) logger().notice("reload: " + change);
    ++reloadsApplied_;
    watchTlsFiles(next);
    return changes;
  } catch (const std::exception &error) {
    ++reloadsRefused_;
    logger().error(std::string("reload refused, nothing changed: ") + error.what());
    throw;
  }
}

void Master::reportStatus(Poco::JSON::Object &reply) {
  reply.set("version", std::string(app::version()));
  reply.set("build", std::string(app::buildId()));
  reply.set("pid", static_cast<int>(::getpid()));
  reply.set("uptime_ms", static_cast<int64_t>(uptime().count()));
  reply.set("user", process::currentUserName());
  reply.set("upgrades", upgrades_);
  reply.set("process", process::sampleThisProcess());
  Poco::JSON::Object::Ptr reloads = new Poco::JSON::Object;
  reloads->set("applied", reloadsApplied_);
  reloads->set("refused", reloadsRefused_);
  if (lastReload_)
    reloads->set("last_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                lastReload_->time_since_epoch())
                                .count());
  reply.set("reloads", reloads);
  if (lastUpgrade_) reply.set("last_upgrade", lastUpgrade_);
  Poco::JSON::Array::Ptr workers = new Poco::JSON::Array;
  std::vector<Poco::JSON::Object::Ptr> statuses;
  workers_->report(*workers, statuses, "serving");
  for (const auto &retiring : retiring_) retiring.workers->report(*workers, statuses, "draining");
  reply.set("workers", workers);
  reply.set("listeners", mergeListeners(statuses));
}

void Master::stop(int signal) {
  service_.stopping();
  tasks_.close("wharfd is stopping");
  int forwarded = signal == SIGQUIT ? SIGQUIT : SIGTERM;
  workers_->stop(forwarded);
  for (auto &retiring : retiring_) retiring.workers->stop(forwarded);
  workers_->sockets().stopAccepting();  // every address refuses new connections now
  auto timeout = workers_->config().host.shutdownTimeout;
  logger().notice(std::string("signal ") + strsignal(signal) + ": workers stop accepting; " +
                  (signal == SIGQUIT ? "closing sessions now"
                                     : "letting sessions finish for up to " +
                                           std::to_string(timeout.count()) + " ms"));
  auto deadline = Clock::now() + timeout + kExitGrace;
  bool cut = signal == SIGQUIT, killed = false;
  auto finished = [&] {
    if (!workers_->finished()) return false;
    for (const auto &retiring : retiring_)
      if (!retiring.workers->finished()) return false;
    return true;
  };
  auto signalAll = [&](int which) {
    workers_->signalAll(which);
    for (auto &retiring : retiring_) retiring.workers->signalAll(which);
  };
  while (!finished()) {
    pollfd ready{signals_.fd(), POLLIN, 0};
    ::poll(&ready, 1, 100);
    signalfd_siginfo info{};
    while (::read(signals_.fd(), &info, sizeof info) == sizeof info) {
      int next = static_cast<int>(info.ssi_signo);
      if (next == SIGCHLD) reapChildren();
      if ((next == SIGTERM || next == SIGINT || next == SIGQUIT) && !cut) {
        cut = true;
        logger().warning(std::string(strsignal(next)) + ": workers close their sessions now");
        signalAll(SIGQUIT);
      }
    }
    reapChildren();
    if (!killed && Clock::now() >= deadline) {
      killed = true;
      logger().error("workers still running past shutdown_timeout: killing them");
      signalAll(SIGKILL);
    }
  }
  closeControl();
  if (size_t removed = zones_.removeZones())
    logger().information("removed " + std::to_string(removed) + " shared zones");
  logger().notice("stopped");
}

}  // namespace wharf::master
