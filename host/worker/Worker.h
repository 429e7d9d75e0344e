// Internal. A worker process: started by the master (fork+exec of wharfd
// with --worker), it receives its listening sockets and config over its
// channel, becomes [host] user, loads the plugins and serves its listeners
// with the dispatchers and plugin generations until SIGTERM (drain) or
// SIGQUIT (cut). Reloads that fit the running worker arrive as requests
// from the master; it never reads the config file itself, so every worker
// of a master serves the same config.
#pragma once

#include <Poco/JSON/Object.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/Config.h"
#include "config/ConfigLoader.h"
#include "dispatch/HandoverLink.h"
#include "listener/ListenerSet.h"
#include "plugin/PluginSet.h"
#include "worker/MasterLink.h"

namespace wharf::app {
class FileWatcher;
}

namespace wharf::worker {

class Worker {
 public:
  Worker(std::filesystem::path configFile, net::FileDescriptor channel);
  ~Worker();

  // THREAD: main; call with the daemon signals blocked. Returns the exit status.
  int run();

 private:
  // THREAD: main, before any thread. The "serve" request: config, privilege
  // drop, plugins, listeners bound and started; throws on the first error.
  void prepare(const Poco::JSON::Object &request);
  // THREAD: the link's, or main's for a replaced plugin file. The "reload"
  // request (null: the current config again, for the plugin files):
  // applied whole, or throws with nothing changed.
  std::vector<std::string> reload(const Poco::JSON::Object *request);
  void reportStatus(Poco::JSON::Object &reply);
  // The link's thread answers the master's requests from now on.
  void answerMaster();
  // The config in a request: the master's text and the files it passed before the
  // request, limited to its listeners.
  config::Config configIn(const Poco::JSON::Object &request);
  std::shared_ptr<net::ListenSocket> socketFor(const config::ListenerConfig &config,
                                               net::ListenSocket::Role role);
  void updateWatcher();
  // Live migration across workers (migrate = on). This worker retires: its
  // reactor listeners send their sessions over the link `end` to worker
  // `to`. Or it replaces one: it serves what comes over `end`.
  void handOverSessions(net::FileDescriptor end, pid_t to);
  void adoptSessions(net::FileDescriptor end);
  void serveUntilStopped();
  void stop(int signal);

  std::filesystem::path configFile_;
  config::ConfigLoader loader_;
  std::mutex mutex_;  // one of reload, status, drain enforcement, stop at a time
  config::Config config_;
  plugin::PluginSet plugins_;
  listener::ListenerSet listeners_;
  // When the next listener paused after a crash (ListenerSet::start) resumes.
  std::optional<std::chrono::steady_clock::time_point> nextResume_;
  bool stopping_ = false;
  std::atomic<bool> retired_ = false;  // a reload replaced this worker: drain_timeout bounds it
  std::atomic<bool> pluginsChanged_ = false;  // set by watcher_'s thread
  std::unique_ptr<app::FileWatcher> watcher_;
  // Under mutex_. Their threads use the listeners: they go before them.
  std::vector<std::shared_ptr<dispatch::HandoverLink>> handoverLinks_;
  MasterLink link_;  // its thread uses everything above: goes first
};

}  // namespace wharf::worker
