// Master's binary upgrade (Upgrade.h): checking and rehearsing the new
// binary, handing over and re-executing; in the new binary, the rehearsal,
// and resuming with what was handed over.
#include <Poco/Logger.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <stdexcept>

#include "app/Logging.h"
#include "app/Signals.h"
#include "app/Version.h"
#include "config/IniDocument.h"
#include "logging/LineSink.h"
#include "master/Master.h"

namespace wharf::master {
namespace {

Poco::Logger &logger() {
  return Poco::Logger::get("master");
}

// The listening sockets handed over, in this process's keeping: as they
// were held (owned, or systemd's), or as an `observer` that changes nothing.
SocketSet adoptSockets(const Inheritance &inheritance, bool observer) {
  SocketSet sockets;
  for (const auto &socket : inheritance.sockets) {
    ::fcntl(socket.fd, F_SETFD, FD_CLOEXEC);
    sockets.adopt(socket.listener, socket.transport, socket.listen, socket.fd,
                  observer       ? net::ListenSocket::Role::Observer
                  : socket.owned ? net::ListenSocket::Role::Owner
                                 : net::ListenSocket::Role::Shared);
  }
  return sockets;
}

}  // namespace

void Master::upgrade(std::chrono::milliseconds allowed) {
  ++upgradeAttempts_;
  try {
    execute(proveUpgrade(allowed));
  } catch (const std::exception &) {
    // logged and recorded; the old binary serves on
  }
}

NewBinary Master::proveUpgrade(std::chrono::milliseconds allowed) {
  upgrading_ = true;
  struct Over {
    bool &upgrading;
    ~Over() { upgrading = false; }
  } over{upgrading_};
  auto deadline = Clock::now() + allowed;
  auto stepDeadline = [&] { return std::min(deadline, Clock::now() + kMaxUpgradeStep); };
  auto waiter = [this] { return whileUpgradeWaits(); };
  try {
    NewBinary binary(options_.binary);
    checkNewBinary(binary, options_.configFile, stepDeadline(), waiter);
    logger().notice("upgrade: " + binary.path().string() + " passed --check-config; rehearsing it");
    Inheritance sockets = inheritance();
    sockets.workers.clear();  // the rehearsal's workers are its own; these serve on
    if (!rehearseUpgrade(binary, options_.configFile, sockets, stepDeadline(), waiter))
      logger().warning("upgrade: " + binary.path().string() +
                       " is from before rehearsals: it was only checked");
    return binary;
  } catch (const std::exception &error) {
    recordUpgrade("refused", app::version(), error.what());
    logger().error(std::string("upgrade refused, the old binary serves on: ") + error.what());
    throw;
  }
}

bool Master::whileUpgradeWaits() {
  tasks_.runPending();  // status answers; another upgrade or a reload is refused
  // Only this master's workers: waiting for any child would take the one
  // being waited for.
  workers_->reapExited();
  for (auto &retiring : retiring_) retiring.workers->reapExited();
  std::erase_if(retiring_, [](const Retiring &retiring) { return retiring.workers->finished(); });
  runTimers();
  return !app::stopSignalWaiting();
}

Inheritance Master::inheritance() const {
  Inheritance inheritance;
  for (const auto &[name, socket] : workers_->sockets().byListener())
    inheritance.sockets.push_back({name,
                                   std::string(net::transportName(socket->endpoint().transport)),
                                   socket->endpoint().text, socket->fd(), socket->owner()});
  auto handOver = [&](const WorkerSet &set, bool serving) {
    for (const WorkerProcess *worker : set.running())
      inheritance.workers.push_back({worker->pid(), worker->channelFd(), worker->group(),
                                     worker->uptime().count(), serving, worker->crashPageFd()});
  };
  handOver(*workers_, true);
  for (const auto &retiring : retiring_) handOver(*retiring.workers, false);
  inheritance.configText = workers_->configText();
  inheritance.heldFiles = workers_->config().heldFiles();
  inheritance.ticketKeys = ticketKeys_.handOver();
  inheritance.fromVersion = app::version();
  inheritance.uptimeMs = uptime().count();
  inheritance.upgrades = upgrades_;
  inheritance.attempts = upgradeAttempts_;
  return inheritance;
}

void Master::execute(const NewBinary &binary) {
  Inheritance handed = inheritance();
  logger().notice("upgrading: executing " + binary.path().string());
  service_.reloading("upgrading to " + binary.path().string());
  // The control threads end (any reply in flight sent): exec keeps one
  // thread. One may be waiting for this thread (a status request, a
  // scrape): the queue fails it now, or closing would wait for it forever.
  tasks_.close("wharfd is upgrading");
  closeControl();
  execUpgrade(binary, options_.configFile, handed);
  std::string error = std::strerror(errno);
  std::string why = errno == EINTR ? "a stop signal came first" : "exec: " + error;
  logger().error("upgrade failed, the old binary serves on: " + why);
  recordUpgrade("refused", app::version(), why);
  tasks_.reopen();
  openControl(workers_->config());
  announceReady();
}

void Master::recordUpgrade(const std::string &result, const std::string &from,
                           const std::string &error) {
  lastUpgrade_ = new Poco::JSON::Object;
  lastUpgrade_->set("result", result);
  lastUpgrade_->set("attempt", upgradeAttempts_);
  lastUpgrade_->set("from", from);
  lastUpgrade_->set("to", std::string(app::version()));
  if (!error.empty()) lastUpgrade_->set("error", error);
}

int Master::runRehearsal() {
  // Its first line, by which the upgrading master knows it understood the
  // flag (a binary from before rehearsals refuses it as its first line).
  std::cerr << "wharfd: rehearsing an upgrade" << std::endl;
  app::configureLogging("information");  // to stderr, which the upgrading master reads
  logging::setFileAccess(logging::FileAccess::Discard);  // no log file is touched
  try {
    cgroups_ = WorkerCgroups::open();
    std::optional<Inheritance> inheritance = takeInheritance();
    if (!inheritance) throw std::runtime_error("--rehearse-upgrade is for wharfd's own upgrades");
    // The master that serves on them keeps their options and unix socket files.
    SocketSet inherited = adoptSockets(*inheritance, true);
    std::string text = config::IniDocument::readText(options_.configFile);
    config::Config next = loader_.parse(options_.configFile, text);
    // Only the addresses served now: one bound here would take connections
    // the rehearsal then resets. New ones are bound by the upgrade itself.
    size_t listeners = next.listeners.size();
    std::erase_if(next.listeners, [&](const config::ListenerConfig &listener) {
      return !inherited.servesAddressOf(listener);
    });
    if (size_t left = listeners - next.listeners.size())
      logger().information("rehearsal: " + std::to_string(left) +
                           " listeners on new addresses are left to the upgrade");
    SocketSet sockets = SocketSet::bindFor(next, inherited);
    size_t started = 0;
    {
      ticketKeys_.follow(next);  // keys of its own, which no client ever sees
      WorkerSet workers(options_.binary, cgroups_.get(), ticketKeys_, next, text, sockets);
      workers.rehearse();
      started = workers.size();
    }
    zones_.removeZones();
    logger().notice("rehearsal: " + std::to_string(started) + " workers were ready");
    return 0;
  } catch (const std::exception &error) {
    zones_.removeZones();
    logger().error(error.what());
    return 2;
  }
}

void Master::resume(const Inheritance &inheritance) {
  started_ = Clock::now() - std::chrono::milliseconds(inheritance.uptimeMs);
  upgrades_ = inheritance.upgrades + 1;
  upgradeAttempts_ = inheritance.attempts;
  SocketSet inherited = adoptSockets(inheritance, false);
  std::vector<std::unique_ptr<WorkerProcess>> serving, draining;
  for (const auto &worker : inheritance.workers) {
    ::fcntl(worker.channel, F_SETFD, FD_CLOEXEC);
    if (worker.crashPage >= 0) ::fcntl(worker.crashPage, F_SETFD, FD_CLOEXEC);
    (worker.serving ? serving : draining)
        .push_back(std::make_unique<WorkerProcess>(
            worker.pid, process::Channel(net::FileDescriptor(worker.channel)),
            net::FileDescriptor(worker.crashPage), worker.group,
            Clock::now() - std::chrono::milliseconds(worker.uptimeMs)));
  }
  config::Config served = loader_.parse(options_.configFile, inheritance.configText,
                                        inheritance.heldFiles ? &*inheritance.heldFiles : nullptr);
  configureLogging(served);
  ::prctl(PR_SET_DUMPABLE, served.host.coreDumps ? 1 : 0, 0, 0, 0);  // main() cleared it
  // Tickets issued before the upgrade resume after it (an old master that
  // handed over no keys: new ones, and those tickets get full handshakes).
  try {
    if (inheritance.ticketKeys) ticketKeys_.takeOver(*inheritance.ticketKeys);
  } catch (const std::exception &error) {
    logger().error(std::string("new session ticket keys: ") + error.what());
  }
  ticketKeys_.follow(served);
  workers_ = std::make_unique<WorkerSet>(options_.binary, cgroups_.get(), ticketKeys_, served,
                                         inheritance.configText, inherited, std::move(serving));
  if (!draining.empty()) {
    auto set = std::make_unique<WorkerSet>(options_.binary, cgroups_.get(), ticketKeys_, served,
                                           inheritance.configText, inherited, std::move(draining));
    set->stop(0);
    retiring_.push_back({std::move(set), Clock::now()});
  }
  if (cgroups_) {  // the cgroups the old master was still emptying: its list went with its exec
    std::vector<process::Cgroup> kept;
    auto keep = [&kept](const WorkerSet &set) {
      for (const WorkerProcess *worker : set.running())
        if (worker->cgroup()) kept.push_back(*worker->cgroup());
    };
    keep(*workers_);
    for (const auto &retiring : retiring_) keep(*retiring.workers);
    cgroups_->endAllBut(kept);
  }
  openControl(served);
  try {
    std::string text = config::IniDocument::readText(options_.configFile);
    config::Config next = loader_.parse(options_.configFile, text);
    for (const auto &warning : next.warnings) logger().warning(warning);
    guardLogFiles(next, &served);  // the new workers' users too
    SocketSet sockets = SocketSet::bindFor(next, inherited);
    ticketKeys_.follow(next);
    auto fresh = std::make_unique<WorkerSet>(options_.binary, cgroups_.get(), ticketKeys_, next,
                                             text, sockets);
    fresh->start();
    size_t handing = workers_->retire(fresh.get());
    retiring_.push_back({std::move(workers_), Clock::now()});
    workers_ = std::move(fresh);
    sockets.stopAbandoned(inherited);
    recordUpgrade("done", inheritance.fromVersion, "");
    logger().notice(
        std::string("upgraded from wharfd ") + inheritance.fromVersion + ": " +
        std::to_string(workers_->size()) + " new workers serving, the old ones drain" +
        (handing > 0 ? ", " + std::to_string(handing) + " handing their migrate = on sessions over"
                     : std::string()));
  } catch (const std::exception &error) {
    ticketKeys_.follow(served);  // the old workers' listeners
    recordUpgrade("failed", inheritance.fromVersion, error.what());
    logger().error(std::string("upgrade failed, the old workers serve on: ") + error.what());
  }
  announceReady();
}

}  // namespace wharf::master
