#include "plugin/Plugin.h"

#include <stdexcept>

#include "plugin/HookCall.h"
#include "plugin/HookError.h"
#include "plugin/HostApi.h"
#include "plugin/PluginError.h"

namespace wharf::plugin {
namespace {

// What a C++ compiler names the entry when it was not declared extern "C".
constexpr const char *kMangledEntries[] = {"_Z18wharf_plugin_entryPK10wharf_host",
                                           "_Z18wharf_plugin_entryP10wharf_host"};

std::string missingEntry(PluginLibrary &library) {
  std::string why = std::string("no entry symbol ") + WHARF_PLUGIN_ENTRY_SYMBOL;
  for (const char *mangled : kMangledEntries)
    if (library.symbol(mangled) != nullptr)
      return why + " (it exports the C++ name " + mangled +
             ": declare the entry extern \"C\", as wharf.h's WHARF_PLUGIN_EXPORT examples do)";
  return why + ": not a Wharf plugin";
}

}  // namespace

std::shared_ptr<const Plugin> Plugin::load(const std::filesystem::path &file) {
  return load(std::make_unique<PluginLibrary>(file));
}

std::shared_ptr<const Plugin> Plugin::load(std::unique_ptr<PluginLibrary> library) {
  const std::filesystem::path file = library->file();
  auto entry = reinterpret_cast<wharf_plugin_entry_fn>(library->symbol(WHARF_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) throw PluginError(file, missingEntry(*library));
  const wharf_plugin *described = nullptr;
  std::string escaped;
  if (caught([&] { described = entry(&hostDescriptor()); }, escaped) != WHARF_OK)
    throw PluginError(file, std::string(WHARF_PLUGIN_ENTRY_SYMBOL) + " failed: " + escaped);
  PluginDescriptor descriptor;
  try {
    descriptor = negotiate(described);
  } catch (const std::invalid_argument &refusal) {
    throw PluginError(file, refusal.what());
  }
  if (descriptor.has(WHARF_CAP_NEVER_UNLOAD)) library->keepMapped();
  if (descriptor.hooks.on_plugin_load != nullptr) {
    HookError error;
    if (caught(
            [&] {
              return descriptor.hooks.on_plugin_load(&hostDescriptor(), error.data(), error.size());
            },
            escaped) != WHARF_OK)
      throw PluginError(
          file, "'" + descriptor.name + "' failed to initialise: " +
                    (escaped.empty() ? error.message() : "on_plugin_load failed: " + escaped));
  }
  return std::shared_ptr<const Plugin>(new Plugin(std::move(library), std::move(descriptor)));
}

Plugin::~Plugin() {
  if (descriptor_.hooks.on_plugin_unload == nullptr) return;
  std::string ignored;  // nothing to tell: the library goes all the same
  caught([&] { descriptor_.hooks.on_plugin_unload(); }, ignored);
}

}  // namespace wharf::plugin
