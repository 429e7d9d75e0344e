#include "plugin/PluginInstance.h"

#include <system_error>

#include "plugin/HookCall.h"
#include "plugin/HookError.h"
#include "plugin/PluginError.h"
#include "zone/ZoneRegistry.h"

namespace wharf::plugin {
namespace {

// Never destroyed, made at load time: as Session's handles.
HandleTable<PluginInstance> &handles() {
  static auto *table = new HandleTable<PluginInstance>;
  return *table;
}
[[maybe_unused]] HandleTable<PluginInstance> &madeAtLoad = handles();

}  // namespace

PluginInstance *PluginInstance::find(const wharf_instance *handle) noexcept {
  return handles().find(reinterpret_cast<uintptr_t>(handle));
}

PluginInstance::PluginInstance(std::shared_ptr<const Plugin> plugin,
                               const config::ListenerConfig &listener,
                               std::shared_ptr<PluginMetrics> metrics, ClockThread clockThread)
    : plugin_(std::move(plugin)),
      listenerName_(listener.name),
      socketKind_(net::isStream(listener.endpoint.transport) ? WHARF_SOCKET_STREAM
                                                             : WHARF_SOCKET_DATAGRAM),
      transport_(listener.endpoint.transport),
      options_(listener.options),
      proxy_(listener.proxy),
      metrics_(std::move(metrics)),
      logger_(Poco::Logger::get("listener." + listener.name)),
      handle_(handles(), this),
      clock_(logger_, describe(), listenerName_, clockThread) {
  if (hooks().on_instance_new != nullptr) {
    HookError error;
    std::string escaped;
    wharf_status status = callHook(
        *this, "on_instance_new", HookSite::Instance,
        [&] { return hooks().on_instance_new(handle(), &state_, error.data(), error.size()); },
        escaped);
    if (status != WHARF_OK)
      throw PluginError(
          plugin_->file(),
          "'" + plugin_->name() + "' refused listener [" + listener.section() +
              "]: " + (escaped.empty() ? error.message() : "on_instance_new failed: " + escaped));
  }
  creating_ = false;
  try {
    clock_.open(state_);
  } catch (const std::system_error &failure) {  // no thread for the timers it started
    clock_.stop();
    destroyState();
    throw PluginError(plugin_->file(),
                      "listener [" + listener.section() +
                          "]: no thread for the instance's timers: " + failure.what());
  }
}

PluginInstance::~PluginInstance() {
  clock_.stop();  // no timer fires once the state is gone
  destroyState();
}

void PluginInstance::destroyState() noexcept {
  if (hooks().on_instance_destroy == nullptr) return;
  std::string escaped;
  callHook(
      *this, "on_instance_destroy", HookSite::Instance,
      [&] { hooks().on_instance_destroy(state_); }, escaped);
  if (!escaped.empty()) logger_.error(describe() + ": on_instance_destroy failed: " + escaped);
}

wharf_zone *PluginInstance::declareZone(const std::string &name, uint64_t size, uint32_t layout,
                                        bool &fresh) {
  std::string refusal;
  try {
    if (!creating_)
      refusal = "zones are declared from on_instance_new only";
    else if (zones_.size() >= zone::kMaxZonesPerInstance)
      refusal = "more than 16 zones";
    else {
      zones_.push_back(
          zone::ZoneRegistry::instance().declare({name, listenerName_, size, layout}, fresh));
      logger_.information("listener [" + listenerName_ + "]: zone '" + name + "' (" +
                          std::to_string(zones_.back()->request().size) + " bytes, layout " +
                          std::to_string(layout) + ") " + (fresh ? "made" : "kept"));
      return zones_.back()->handle();
    }
  } catch (const std::exception &error) {  // ZoneError, or no memory
    refusal = error.what();
  }
  logger_.warning(describe() + ": zone refused: " + refusal);
  return nullptr;
}

std::string PluginInstance::describe() const {
  return "listener [" + listenerName_ + "]: plugin '" + plugin_->name() + "'";
}

const config::PluginOption *PluginInstance::option(std::string_view key) const {
  for (const auto &entry : options_)
    if (entry.key == key) return &entry;
  return nullptr;
}

}  // namespace wharf::plugin
