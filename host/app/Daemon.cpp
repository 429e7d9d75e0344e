#include "app/Daemon.h"

#include <Poco/Logger.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

#include "app/Logging.h"
#include "app/ProcessLimits.h"
#include "app/Signals.h"
#include "config/ConfigLoader.h"
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

}  // namespace

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
    std::cout << options_.configFile.string() << ": OK (" << listeners_.size() << " listeners)\n";
    return kExitOk;
  }
  try {
    for (auto &listener : listeners_) listener->bind();
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
    control::reportStatus(listeners_, reply);
  };
  commands["stop"] = [](const Poco::JSON::Object &, Poco::JSON::Object &reply) {
    reply.set("stopping", true);
    ::kill(::getpid(), SIGTERM);  // the same graceful path as an operator's SIGTERM
  };
  commands["reload"] = [](const Poco::JSON::Object &, Poco::JSON::Object &) {
    throw std::runtime_error("reload is not available in this version of wharfd");
  };
  return std::make_unique<control::AdminServer>(config_.host.adminSocket, std::move(commands));
}

void Daemon::prepare() {
  config::ConfigLoader loader({defaultPluginDir(), dispatch::dispatchModeKeys()});
  config_ = loader.load(options_.configFile);
  configureLogging(config_.host.logLevel);
  for (const auto &listenerConfig : config_.listeners)
    listeners_.push_back(std::make_unique<listener::Listener>(
        listenerConfig, plugins_.get(listenerConfig.pluginPath)));
}

void Daemon::serveUntilStopped() {
  Poco::Logger &logger = Poco::Logger::get("wharfd");
  logger.information(raiseOpenFileLimit());
  for (auto &listener : listeners_) {
    listener->start();
    const auto &config = listener->config();
    const auto &plugin = listener->instance().plugin();
    logger.information(
        "[" + config.section() + "] " + std::string(net::transportName(config.endpoint.transport)) +
        " " + listener->boundAddress() + " mode " + config.mode + ", plugin " + plugin.name() +
        " " + plugin.version() + " (" + plugin.file().string() + ")");
  }
  logger.notice("wharfd " WHARF_VERSION " ready, " + std::to_string(listeners_.size()) +
                " listeners, pid " + std::to_string(::getpid()));
  for (;;) {
    int signal = waitForSignal();
    if (signal != SIGHUP) return stop(signal);
    logger.warning("SIGHUP: reloading is not available in this version; ignored");
  }
}

// Stops accepting everywhere, then lets sessions finish. They are cut when
// shutdown_timeout passes, or at once on SIGQUIT (first or later) or a
// second SIGTERM/SIGINT.
void Daemon::stop(int signal) {
  Poco::Logger &logger = Poco::Logger::get("wharfd");
  for (auto &listener : listeners_) listener->stopAccepting();
  auto timeout = config_.host.shutdownTimeout;
  logger.notice(std::string("signal ") + strsignal(signal) + ": no longer accepting; " +
                (signal == SIGQUIT ? "closing sessions now"
                                   : "letting sessions finish for up to " +
                                         std::to_string(timeout.count()) + " ms"));
  std::atomic<bool> drained = false;
  std::thread drainer([&] {
    for (auto &listener : listeners_) listener->drain();
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
    logger.warning(std::string(reason) + ": closing " + std::to_string(cutSessions()) +
                   " remaining sessions");
  }
  drainer.join();
  admin_.reset();
  listeners_.clear();
  logger.notice("stopped");
}

size_t Daemon::cutSessions() {
  size_t cut = 0;
  for (auto &listener : listeners_) cut += listener->cutSessions();
  return cut;
}

}  // namespace wharf::app
