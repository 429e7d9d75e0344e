#include "plugin/Plugin.h"

#include <stdexcept>

#include "plugin/HookError.h"
#include "plugin/HostApi.h"
#include "plugin/PluginError.h"

namespace wharf::plugin {

std::shared_ptr<const Plugin> Plugin::load(const std::filesystem::path &file) {
  return load(std::make_unique<PluginLibrary>(file));
}

std::shared_ptr<const Plugin> Plugin::load(std::unique_ptr<PluginLibrary> library) {
  const std::filesystem::path file = library->file();
  auto entry = reinterpret_cast<wharf_plugin_entry_fn>(library->symbol(WHARF_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr)
    throw PluginError(
        file, std::string("no entry symbol ") + WHARF_PLUGIN_ENTRY_SYMBOL + ": not a Wharf plugin");
  PluginDescriptor descriptor;
  try {
    descriptor = negotiate(entry(&hostDescriptor()));
  } catch (const std::invalid_argument &refusal) {
    throw PluginError(file, refusal.what());
  }
  if (descriptor.has(WHARF_CAP_NEVER_UNLOAD)) library->keepMapped();
  if (descriptor.hooks.on_plugin_load != nullptr) {
    HookError error;
    if (descriptor.hooks.on_plugin_load(&hostDescriptor(), error.data(), error.size()) != WHARF_OK)
      throw PluginError(file, "'" + descriptor.name + "' failed to initialise: " + error.message());
  }
  return std::shared_ptr<const Plugin>(new Plugin(std::move(library), std::move(descriptor)));
}

Plugin::~Plugin() {
  if (descriptor_.hooks.on_plugin_unload != nullptr) descriptor_.hooks.on_plugin_unload();
}

}  // namespace wharf::plugin
