// Internal. wharfd's life: load and check everything, bind, serve until a
// signal, then stop accepting, let sessions finish, and exit.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "config/Config.h"
#include "control/AdminServer.h"
#include "listener/Listener.h"
#include "plugin/PluginSet.h"

namespace wharf::app {

struct DaemonOptions {
  std::filesystem::path configFile;
  bool checkOnly = false;
};

// Exit statuses.
constexpr int kExitOk = 0;
constexpr int kExitRefused = 2;  // bad config, plugin or address: nothing started

class Daemon {
 public:
  explicit Daemon(DaemonOptions options) : options_(std::move(options)) {}

  // THREAD: main; call with the signals of SignalSet blocked. Returns the exit status.
  int run();

 private:
  void prepare();  // config, plugins, listeners: throws on the first error
  void serveUntilStopped();
  void stop(int signal);
  size_t cutSessions();
  std::unique_ptr<control::AdminServer> openAdminSocket();

  DaemonOptions options_;
  config::Config config_;
  plugin::PluginSet plugins_;
  std::vector<std::unique_ptr<listener::Listener>> listeners_;
  std::unique_ptr<control::AdminServer> admin_;  // reads listeners_: goes first
};

}  // namespace wharf::app
