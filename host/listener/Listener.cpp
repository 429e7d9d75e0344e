#include "listener/Listener.h"

#include "listener/Compatibility.h"
#include "listener/ListenerError.h"

namespace wharf::listener {
namespace {

const dispatch::DispatchMode &modeNamed(const config::ListenerConfig &config) {
  const dispatch::DispatchMode *mode = dispatch::findDispatchMode(config.mode);
  if (mode == nullptr)
    throw ListenerError("listener [" + config.section() + "]: unknown mode '" + config.mode + "'");
  return *mode;
}

}  // namespace

Listener::Listener(const config::ListenerConfig &config,
                   std::shared_ptr<const plugin::Plugin> plugin)
    : config_(config), mode_(modeNamed(config)), admission_(config_.limits) {
  checkCompatibility(config_, mode_, *plugin);
  instance_ = std::make_unique<plugin::PluginInstance>(std::move(plugin), config_);
}

Listener::~Listener() {
  stopAccepting();
  drain();
}

void Listener::bind() {
  socket_ = std::make_unique<net::ListenSocket>(config_.endpoint, config_.backlog);
  dispatcher_ = mode_.create(
      {config_, *instance_, *socket_, mode_.styleFor(instance_->plugin()), admission_, live_});
}

void Listener::start() {
  dispatcher_->start();
  started_ = true;
}

void Listener::stopAccepting() {
  if (!started_) return;
  dispatcher_->stopAccepting();
  socket_->stopAccepting();
}

size_t Listener::cutSessions() {
  if (!dispatcher_) return 0;
  size_t queued = dispatcher_->cutHeldSessions();
  return queued + live_.cutAll();
}

void Listener::drain() {
  if (started_) dispatcher_->drain();
  started_ = false;
}

}  // namespace wharf::listener
