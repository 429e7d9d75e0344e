#include "plugin/PluginInstance.h"

#include "plugin/HookError.h"
#include "plugin/PluginError.h"

namespace wharf::plugin {

PluginInstance::PluginInstance(std::shared_ptr<const Plugin> plugin,
                               const config::ListenerConfig &listener,
                               std::shared_ptr<PluginMetrics> metrics)
    : plugin_(std::move(plugin)),
      listenerName_(listener.name),
      socketKind_(net::isStream(listener.endpoint.transport) ? WHARF_SOCKET_STREAM
                                                             : WHARF_SOCKET_DATAGRAM),
      options_(listener.options),
      proxy_(listener.proxy),
      metrics_(std::move(metrics)),
      logger_(Poco::Logger::get("listener." + listener.name)) {
  if (hooks().on_instance_new == nullptr) return;
  HookError error;
  if (hooks().on_instance_new(handle(), &state_, error.data(), error.size()) != WHARF_OK)
    throw PluginError(plugin_->file(), "'" + plugin_->name() + "' refused listener [" +
                                           listener.section() + "]: " + error.message());
}

PluginInstance::~PluginInstance() {
  if (hooks().on_instance_destroy != nullptr) hooks().on_instance_destroy(state_);
}

const config::PluginOption *PluginInstance::option(std::string_view key) const {
  for (const auto &entry : options_)
    if (entry.key == key) return &entry;
  return nullptr;
}

}  // namespace wharf::plugin
