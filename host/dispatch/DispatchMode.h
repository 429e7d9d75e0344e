// Internal. The concurrency modes this build offers, each described once:
// which plugin styles it can run, whether it runs hooks concurrently, and how
// to make its dispatcher. Everything mode-specific is decided here.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/Config.h"
#include "config/ConfigLoader.h"
#include "dispatch/Dispatcher.h"
#include "listener/Admission.h"
#include "listener/Generations.h"
#include "net/ListenSocket.h"
#include "plugin/PluginInstance.h"
#include "session/Session.h"
#include "tls/ContextSlot.h"

namespace wharf::dispatch {

struct DispatchContext {
  const config::ListenerConfig &config;
  listener::Generations &generations;  // a session is served by the one current at admission
  const net::ListenSocket &socket;
  listener::Admission &admission;
  Poco::Logger &logger;  // the listener's
  session::Traffic &traffic;
  session::AccessLog *accessLog;                   // null: the listener keeps none
  std::shared_ptr<plugin::PluginMetrics> metrics;  // the listener's, shared by its generations
  std::shared_ptr<tls::ContextSlot> tls;           // tls = on; else null

  // The TLS context a connection accepted now gets (null: tls = off).
  std::shared_ptr<const tls::ServerContext> tlsContext() const {
    return tls ? tls->current() : nullptr;
  }

  bool streams() const { return net::isStream(config.endpoint.transport); }
  // Where a session served by plugin generation `generation` is written down when it ends.
  session::Ledger ledger(uint64_t generation) const { return {traffic, accessLog, generation}; }
};

struct DispatchMode {
  std::string_view name;
  bool runsBlockingStyle;         // a session has a thread or process of its own
  uint32_t requiredCapabilities;  // WHARF_CAP_* a plugin must declare to run in this mode
  bool startsOnlyAtLaunch;        // forks a helper: only before a worker has threads or plugins
  std::unique_ptr<Dispatcher> (*create)(const DispatchContext &context);
  std::vector<std::string> keys;  // listener keys only this mode takes
  config::ModeLimits limits;      // what a session costs: the limits' defaults and bounds

  // The style a plugin's sessions run in under this mode: serve() where the
  // mode allows it and the plugin has it, else the event hooks.
  session::Style styleFor(const plugin::Plugin &plugin) const;
};

const DispatchMode *findDispatchMode(std::string_view name);
// Each mode as the config loader needs to know it.
std::vector<config::ModeDescription> dispatchModeDescriptions();

}  // namespace wharf::dispatch
