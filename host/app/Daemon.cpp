#include "app/Daemon.h"

#include <Poco/JSON/Array.h>
#include <Poco/Logger.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

#include "app/Logging.h"
#include "app/PluginWatcher.h"
#include "app/ProcessLimits.h"
#include "app/Signals.h"
#include "control/StatusReport.h"
#include "dispatch/DispatchMode.h"

namespace wharf::app {
namespace {

// Beside a build tree's bin/ lies plugins/; an installed wharfd uses the
// install location chosen at build time.
std::filesystem::path defaultPluginDir() {
  std::error_code error;
  auto beside =
      std::filesystem::read_symlink("/proc/self/exe", error).parent_path() / ".." / "plugins";
  if (!error && std::filesystem::is_directory(beside, error)) return beside.lexically_normal();
  return WHARF_INSTALL_PLUGIN_DIR;
}

listener::DrainLimits drainLimitsOf(const config::HostConfig &host) {
  return {host.drainTimeout, host.maxGenerations};
}

// How often drain deadlines are checked.
constexpr auto kEnforcePeriod = std::chrono::milliseconds(250);

}  // namespace

Daemon::Daemon(DaemonOptions options)
    : options_(std::move(options)), loader_({defaultPluginDir(), dispatch::dispatchModeKeys()}) {}

Daemon::~Daemon() = default;

int Daemon::run() {
  configureLogging("information");
  Poco::Logger &logger = Poco::Logger::get("wharfd");
  try {
    prepare();
  } catch (const std::exception &error) {
    logger.error(error.what());
    logger.error("nothing started");
    return kExitRefused;
  }
  if (options_.checkOnly) {
    std::cout << options_.configFile.string() << ": OK (" << listeners_.serving().size()
              << " listeners)\n";
    return kExitOk;
  }
  try {
    listeners_.bind();
    admin_ = openAdminSocket();
  } catch (const std::exception &error) {
    logger.error(error.what());
    logger.error("nothing started");
    return kExitRefused;
  }
  serveUntilStopped();
  return kExitOk;
}

std::unique_ptr<control::AdminServer> Daemon::openAdminSocket() {
  if (config_.host.adminSocket.empty()) return nullptr;
  std::map<std::string, control::AdminServer::Handler> commands;
  commands["status"] = [this](const Poco::JSON::Object &, Poco::JSON::Object &reply) {
    std::lock_guard lock(mutex_);
    control::reportStatus(listeners_, reply);
  };
  commands["stop"] = [](const Poco::JSON::Object &, Poco::JSON::Object &reply) {
    reply.set("stopping", true);
    ::kill(::getpid(), SIGTERM);  // the same graceful path as an operator's SIGTERM
  };
  commands["reload"] = [this](const Poco::JSON::Object &, Poco::JSON::Object &reply) {
    Poco::JSON::Array::Ptr changes = new Poco::JSON::Array;
    for (const auto &change : reload(false)) changes->add(change);
    reply.set("changes", changes);
  };
  return std::make_unique<control::AdminServer>(config_.host.adminSocket, std::move(commands));
}

void Daemon::prepare() {
  config_ = loader_.load(options_.configFile);
  configureLogging(config_.host.logLevel);
  listeners_.load(config_, plugins_);
}

std::vector<std::string> Daemon::reload(bool pluginsOnly) {
  Poco::Logger &logger = Poco::Logger::get("wharfd");
  std::lock_guard lock(mutex_);
  try {
    if (stopping_) throw std::runtime_error("wharfd is stopping");
    config::Config next = pluginsOnly ? config_ : loader_.load(options_.configFile);
    auto changes = listeners_.reload(next, plugins_, drainLimitsOf(next.host));
    if (next.host.adminSocket != config_.host.adminSocket)
      changes.push_back("[host] admin: a new control socket path takes effect at restart");
    if (next.host.logLevel != config_.host.logLevel) setLogLevel(next.host.logLevel);
    config_ = std::move(next);
    updateWatcher();
    for (const auto &change : changes) logger.notice("reload: " + change);
    return changes;
  } catch (const std::exception &error) {
    logger.error(std::string("reload refused, nothing changed: ") + error.what());
    throw;
  }
}

void Daemon::updateWatcher() {
  if (!config_.host.watch) {
    watcher_.reset();
    return;
  }
  std::vector<std::filesystem::path> files;
  for (const auto &listener : config_.listeners) files.push_back(listener.pluginPath);
  if (watcher_ && watcher_->files() == files) return;
  watcher_ = std::make_unique<PluginWatcher>(files, [this] { pluginsChanged_ = true; });
}

void Daemon::serveUntilStopped() {
  Poco::Logger &logger = Poco::Logger::get("wharfd");
  logger.information(raiseOpenFileLimit());
  {
    std::lock_guard lock(mutex_);
    listeners_.start();
    updateWatcher();
  }
  for (const auto &listener : listeners_.serving()) {
    const auto &config = listener->config();
    const auto &plugin = listener->current()->instance().plugin();
    logger.information(
        "[" + config.section() + "] " + std::string(net::transportName(config.endpoint.transport)) +
        " " + listener->boundAddress() + " mode " + config.mode + ", plugin " + plugin.name() +
        " " + plugin.version() + " (" + plugin.file().string() + ")");
  }
  logger.notice("wharfd " WHARF_VERSION " ready, " + std::to_string(listeners_.serving().size()) +
                " listeners, pid " + std::to_string(::getpid()));
  for (;;) {
    int signal = waitForSignal(kEnforcePeriod);
    if (signal == SIGHUP || (signal == 0 && pluginsChanged_.exchange(false))) {
      logger.notice(signal == SIGHUP ? "SIGHUP: reloading " + options_.configFile.string()
                                     : "a plugin file was replaced: reloading plugins");
      try {
        reload(signal == 0);
      } catch (const std::exception &) {
        // logged by reload(); the old state keeps serving
      }
    } else if (signal == 0) {
      std::lock_guard lock(mutex_);
      listeners_.enforce(drainLimitsOf(config_.host));
    } else {
      return stop(signal);
    }
  }
}

// Stops accepting everywhere, then lets sessions finish. They are cut when
// shutdown_timeout passes, or at once on SIGQUIT (first or later) or a
// second SIGTERM/SIGINT.
void Daemon::stop(int signal) {
  Poco::Logger &logger = Poco::Logger::get("wharfd");
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    watcher_.reset();
    listeners_.stopAccepting();
  }
  auto timeout = config_.host.shutdownTimeout;
  logger.notice(std::string("signal ") + strsignal(signal) + ": no longer accepting; " +
                (signal == SIGQUIT ? "closing sessions now"
                                   : "letting sessions finish for up to " +
                                         std::to_string(timeout.count()) + " ms"));
  std::atomic<bool> drained = false;
  std::thread drainer([&] {
    listeners_.drain();
    drained = true;
  });
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool cut = false;
  while (!drained) {
    int next = signal == SIGQUIT ? SIGQUIT : waitForSignal(std::chrono::milliseconds(50));
    signal = 0;
    const char *reason = next == SIGQUIT || next == SIGTERM || next == SIGINT ? strsignal(next)
                         : std::chrono::steady_clock::now() >= deadline       ? "shutdown_timeout"
                                                                              : nullptr;
    if (reason == nullptr || cut) continue;
    cut = true;
    logger.warning(std::string(reason) + ": closing " + std::to_string(listeners_.cutSessions()) +
                   " remaining sessions");
  }
  drainer.join();
  admin_.reset();
  logger.notice("stopped");
}

}  // namespace wharf::app
