// Internal. A plugin instance: what one listener (config section) made of a
// plugin, with its options and the plugin's instance state. The C handle
// `wharf_instance *` handed to the plugin points into this object.
#pragma once

#include <Poco/Logger.h>
#include <wharf/wharf.h>

#include <memory>
#include <string>
#include <vector>

#include "config/Config.h"
#include "plugin/Plugin.h"
#include "plugin/PluginMetrics.h"

namespace wharf::plugin {
class PluginInstance;
}

struct wharf_instance {
  wharf::plugin::PluginInstance *self;
};

namespace wharf::plugin {

class PluginInstance {
 public:
  // THREAD: main. Calls on_instance_new; throws PluginError with the
  // plugin's own message if it refuses.
  // `metrics`: the listener's, which outlive its generations.
  PluginInstance(std::shared_ptr<const Plugin> plugin, const config::ListenerConfig &listener,
                 std::shared_ptr<PluginMetrics> metrics = std::make_shared<PluginMetrics>());
  ~PluginInstance();  // on_instance_destroy
  PluginInstance(const PluginInstance &) = delete;
  PluginInstance &operator=(const PluginInstance &) = delete;

  static PluginInstance &from(const wharf_instance *handle) { return *handle->self; }
  wharf_instance *handle() { return &handle_; }

  const Plugin &plugin() const { return *plugin_; }
  const wharf_plugin &hooks() const { return plugin_->hooks(); }
  void *state() const { return state_; }
  const std::string &listenerName() const { return listenerName_; }
  wharf_socket_kind socketKind() const { return socketKind_; }
  const std::vector<config::PluginOption> &options() const { return options_; }
  // The listener's proxy_protocol: who names its sessions' clients.
  const config::ProxySettings &proxy() const { return proxy_; }
  PluginMetrics &metrics() const { return *metrics_; }
  const config::PluginOption *option(std::string_view key) const;
  Poco::Logger &logger() const { return logger_; }

 private:
  std::shared_ptr<const Plugin> plugin_;
  std::string listenerName_;
  wharf_socket_kind socketKind_;
  std::vector<config::PluginOption> options_;
  config::ProxySettings proxy_;
  std::shared_ptr<PluginMetrics> metrics_;
  Poco::Logger &logger_;
  wharf_instance handle_{this};
  void *state_ = nullptr;
};

}  // namespace wharf::plugin
