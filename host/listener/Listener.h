// Internal. One configured listener: its plugin instance, its socket and the
// dispatcher of its mode. Built in two steps so that --check-config can do
// everything but bind: construct (plugin instance and all compatibility
// checks), then bind() and start().
#pragma once

#include <memory>

#include "config/Config.h"
#include "dispatch/DispatchMode.h"
#include "listener/Admission.h"
#include "net/ListenSocket.h"
#include "plugin/PluginInstance.h"

namespace wharf::listener {

class Listener {
 public:
  // THREAD: main. Throws ListenerError (a pairing the host cannot honour) or
  // PluginError (the plugin refused the listener).
  Listener(const config::ListenerConfig &config, std::shared_ptr<const plugin::Plugin> plugin);
  ~Listener();
  Listener(const Listener &) = delete;
  Listener &operator=(const Listener &) = delete;

  // THREAD: main. Throws std::runtime_error naming the address and reason.
  void bind();
  void start();
  // THREAD: main. Stops taking sessions; then drain() waits for those running.
  void stopAccepting();
  void drain();
  // THREAD: any, after stopAccepting. Closes every session still running or
  // queued (shutdown past its deadline, SIGQUIT); returns how many.
  size_t cutSessions();

  const config::ListenerConfig &config() const { return config_; }
  const plugin::PluginInstance &instance() const { return *instance_; }
  std::string boundAddress() const { return socket_ ? socket_->boundAddress() : ""; }
  const Admission &admission() const { return admission_; }

 private:
  config::ListenerConfig config_;
  const dispatch::DispatchMode &mode_;
  std::unique_ptr<plugin::PluginInstance> instance_;
  Admission admission_;
  session::LiveSessions live_;
  std::unique_ptr<net::ListenSocket> socket_;
  std::unique_ptr<dispatch::Dispatcher> dispatcher_;
  bool started_ = false;
};

}  // namespace wharf::listener
