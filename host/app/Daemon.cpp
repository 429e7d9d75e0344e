#include "app/Daemon.h"

#include <Poco/Logger.h>

#include <csignal>
#include <iostream>

#include "app/Logging.h"
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
    if (signal == SIGHUP) {
      logger.warning("SIGHUP: reloading is not available in this version; ignored");
      continue;
    }
    logger.notice(std::string("signal ") + strsignal(signal) +
                  ": no longer accepting; waiting for sessions to finish");
    break;
  }
  for (auto &listener : listeners_) listener->stopAccepting();
  for (auto &listener : listeners_) listener->drain();
  admin_.reset();
  listeners_.clear();
  logger.notice("stopped");
}

}  // namespace wharf::app
