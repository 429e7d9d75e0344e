#include "app/ConfigCheck.h"

#include <Poco/Logger.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <iostream>
#include <optional>
#include <system_error>

#include "app/ConfigLoading.h"
#include "app/Logging.h"
#include "listener/ListenerSet.h"
#include "logging/LineSink.h"
#include "net/FileDescriptor.h"
#include "plugin/PluginSet.h"
#include "process/ChildWait.h"
#include "worker/PrivilegeDrop.h"

namespace wharf::app {
namespace {

constexpr int kRefused = 2;
// How long the plugins of a config may take to load (an on_instance_new
// that loops must not hang an upgrade or systemd's ExecStartPre).
constexpr auto kLoadTimeout = std::chrono::seconds(60);

Poco::Logger &logger() {
  return Poco::Logger::get("wharfd");
}

// Loads every listener's plugin, telling `loading` each listener first.
// Returns how many listeners there are; throws on the first refusal.
size_t loadPlugins(const config::Config &config,
                   const std::function<void(const config::ListenerConfig &)> &loading) {
  plugin::PluginSet plugins;
  listener::ListenerSet listeners;
  listeners.open(config);
  listeners.load(plugins, loading);
  return listeners.serving().size();
}

int passed(const std::filesystem::path &configFile, size_t listeners) {
  std::cout << configFile.string() << ": OK (" << listeners << " listeners)\n";
  return 0;
}

// The listeners of `config` whose workers run as `user`.
config::Config servedAs(const config::Config &config, const config::WorkersUser &user) {
  config::Config part = config;
  std::erase_if(part.listeners, [&](const config::ListenerConfig &listener) {
    return config.workersUserOf(listener) != user;
  });
  return part;
}

// Started as root with a workers' user: the plugins of the listeners it
// serves load in a child that has become that user first, as in a worker.
// So plugin code never runs as root, a file only root can read fails here
// as it would at start, and a plugin that crashes or hangs is reported by
// listener, not as a bare status. The child names each listener before
// loading it, and "ok N" at the end. Returns N, or nullopt (logged why).
std::optional<size_t> loadAs(const config::Config &config, const config::WorkersUser &user) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe");
  net::FileDescriptor reader(ends[0]), writer(ends[1]);
  std::cout.flush();
  pid_t child = ::fork();
  if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (child == 0) {
    reader = net::FileDescriptor();
    auto say = [&](const std::string &line) {
      std::string text = line + "\n";
      [[maybe_unused]] ssize_t written = ::write(writer.fd(), text.data(), text.size());
    };
    int status = kRefused;
    try {
      worker::dropPrivileges(user.user, user.group);
      size_t count = loadPlugins(config, [&](const config::ListenerConfig &listener) {
        say("[" + listener.section() + "] plugin " + listener.pluginPath.string());
      });
      say("ok " + std::to_string(count));
      status = 0;
    } catch (const std::exception &error) {
      logger().error(error.what());
    }
    ::_exit(status);
  }
  writer = net::FileDescriptor();
  process::ChildEnd end = process::awaitChild(child, std::move(reader),
                                              std::chrono::steady_clock::now() + kLoadTimeout);
  std::string loading = process::lastLines(end.output, 1);
  std::string as = " (as user " + user.user + ")";
  if (end.late) {
    logger().error(loading + ": loading " + end.outcome(kLoadTimeout) + as);
  } else if (WIFSIGNALED(end.status)) {
    logger().error(loading + ": " + end.outcome(kLoadTimeout) + " while loading" + as);
  } else if (end.succeeded() && loading.starts_with("ok ")) {
    return std::stoul(loading.substr(3));
  }  // else the child logged why
  return std::nullopt;
}

// Each workers' user's listeners loaded as that user (in-process for
// listeners served as wharfd's own user).
int checkAsWorkersUsers(const std::filesystem::path &configFile, const config::Config &config) {
  size_t listeners = 0;
  // Those served as root last: a child forked after root had loaded plugins
  // (and read what only root may) would inherit that memory.
  std::vector<config::WorkersUser> users = config.workersUsers();
  std::stable_partition(users.begin(), users.end(),
                        [](const config::WorkersUser &user) { return !user.user.empty(); });
  for (const auto &user : users) {
    config::Config part = servedAs(config, user);
    if (part.listeners.empty()) continue;
    std::optional<size_t> loaded =
        user.user.empty() ? std::optional(loadPlugins(part, {})) : loadAs(part, user);
    if (!loaded) return kRefused;
    listeners += *loaded;
  }
  return passed(configFile, listeners);
}

}  // namespace

int checkConfig(const std::filesystem::path &configFile) {
  // A check binds nothing and creates no file (it may run as root, before
  // the master that would create them as it should).
  logging::setFileAccess(logging::FileAccess::Discard);
  configureLogging("information");
  try {
    config::Config config = makeConfigLoader().load(configFile);
    for (const auto &warning : config.warnings) logger().warning(warning);
    int status = ::geteuid() == 0 ? checkAsWorkersUsers(configFile, config)
                                  : passed(configFile, loadPlugins(config, {}));
    if (status != 0) logger().error("nothing started");
    return status;
  } catch (const std::exception &error) {
    logger().error(error.what());
    logger().error("nothing started");
    return kRefused;
  }
}

}  // namespace wharf::app
