// Internal. wharfd's life: load and check everything, bind, serve until a
// signal (reloading on SIGHUP or `wharfctl reload`), then stop accepting, let
// sessions finish, and exit.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/Config.h"
#include "config/ConfigLoader.h"
#include "control/AdminServer.h"
#include "listener/ListenerSet.h"
#include "plugin/PluginSet.h"

namespace wharf::app {

class PluginWatcher;

struct DaemonOptions {
  std::filesystem::path configFile;
  bool checkOnly = false;
};

// Exit statuses.
constexpr int kExitOk = 0;
constexpr int kExitRefused = 2;  // bad config, plugin or address: nothing started

class Daemon {
 public:
  explicit Daemon(DaemonOptions options);
  ~Daemon();

  // THREAD: main; call with the signals of SignalSet blocked. Returns the exit status.
  int run();

 private:
  void prepare();  // config, plugins, listeners: throws on the first error
  void serveUntilStopped();
  void stop(int signal);
  std::unique_ptr<control::AdminServer> openAdminSocket();
  void updateWatcher();
  // THREAD: any. Re-reads the config file (or, for `pluginsOnly`, re-applies
  // the current config: the plugin files may have changed) and applies it
  // whole, or throws with nothing changed. Returns what changed.
  std::vector<std::string> reload(bool pluginsOnly);

  DaemonOptions options_;
  config::ConfigLoader loader_;
  std::mutex mutex_;  // one of reload, status, drain enforcement, stop at a time
  config::Config config_;
  plugin::PluginSet plugins_;
  listener::ListenerSet listeners_;
  bool stopping_ = false;
  std::atomic<bool> pluginsChanged_ = false;  // set by watcher_'s thread
  std::unique_ptr<PluginWatcher> watcher_;
  std::unique_ptr<control::AdminServer> admin_;  // reads listeners_: goes first
};

}  // namespace wharf::app
