// Internal. A plugin instance: what one listener (config section) made of a
// plugin, with its options and the plugin's instance state. The C handle
// `wharf_instance *` handed to the plugin is a HandleTable handle: kept past
// the instance's end (a reload), it finds nothing.
#pragma once

#include <Poco/Logger.h>
#include <wharf/wharf.h>

#include <memory>
#include <string>
#include <vector>

#include "config/Config.h"
#include "net/Endpoint.h"
#include "plugin/HandleTable.h"
#include "plugin/InstanceClock.h"
#include "plugin/Plugin.h"
#include "plugin/PluginMetrics.h"
#include "zone/SharedZone.h"

namespace wharf::plugin {

class PluginInstance {
 public:
  // THREAD: main. Calls on_instance_new; throws PluginError with the
  // plugin's own message if it refuses.
  // `metrics`: the listener's, which outlive its generations.
  // `clockThread`: whether instance timers may have a thread in this process.
  PluginInstance(std::shared_ptr<const Plugin> plugin, const config::ListenerConfig &listener,
                 std::shared_ptr<PluginMetrics> metrics = std::make_shared<PluginMetrics>(),
                 ClockThread clockThread = ClockThread::Allowed);
  ~PluginInstance();  // stops the clock, then on_instance_destroy
  PluginInstance(const PluginInstance &) = delete;
  PluginInstance &operator=(const PluginInstance &) = delete;

  // The instance `handle` names; nullptr once it has been destroyed.
  static PluginInstance *find(const wharf_instance *handle) noexcept;
  wharf_instance *handle() const { return reinterpret_cast<wharf_instance *>(handle_.value()); }

  const Plugin &plugin() const { return *plugin_; }
  const wharf_plugin &hooks() const { return plugin_->hooks(); }
  void *state() const { return state_; }
  const std::string &listenerName() const { return listenerName_; }
  wharf_socket_kind socketKind() const { return socketKind_; }
  net::Transport transport() const { return transport_; }
  const std::vector<config::PluginOption> &options() const { return options_; }
  // The listener's proxy_protocol: who names its sessions' clients.
  const config::ProxySettings &proxy() const { return proxy_; }
  PluginMetrics &metrics() const { return *metrics_; }
  const config::PluginOption *option(std::string_view key) const;
  Poco::Logger &logger() const { return logger_; }
  // "listener [NAME]: plugin 'NAME'", to open the instance's log lines.
  std::string describe() const;
  InstanceClock &clock() { return clock_; }
  const std::vector<std::shared_ptr<zone::SharedZone>> &zones() const { return zones_; }
  // zone_declare: from on_instance_new only. nullptr if refused (logged).
  wharf_zone *declareZone(const std::string &name, uint64_t size, uint32_t layout, bool &fresh);

 private:
  // on_instance_destroy, if the plugin has it; what it throws is logged.
  void destroyState() noexcept;

  std::shared_ptr<const Plugin> plugin_;
  std::string listenerName_;
  wharf_socket_kind socketKind_;
  net::Transport transport_;
  std::vector<config::PluginOption> options_;
  config::ProxySettings proxy_;
  std::shared_ptr<PluginMetrics> metrics_;
  Poco::Logger &logger_;
  HandleTable<PluginInstance>::Entry handle_;
  void *state_ = nullptr;
  InstanceClock clock_;
  bool creating_ = true;  // on_instance_new runs
  // Released after on_instance_destroy, which may still use them.
  std::vector<std::shared_ptr<zone::SharedZone>> zones_;
};

}  // namespace wharf::plugin
