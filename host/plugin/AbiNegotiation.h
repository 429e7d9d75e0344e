// Internal. Checks what a plugin's entry point returned against this host's
// ABI and keeps a zero-filled copy of the fields both sides know.
#pragma once

#include <wharf/wharf.h>

#include <string>

namespace wharf::plugin {

struct PluginDescriptor {
  wharf_plugin hooks{};  // only the fields the plugin's struct_size covers; the rest zero
  std::string name;
  std::string version;
  std::string description;

  bool has(uint32_t capability) const { return (hooks.capabilities & capability) != 0; }
};

// Throws std::invalid_argument with the reason: NULL descriptor, bad magic,
// another major, a newer minor than this host's, different build facts,
// missing name/version, or capabilities the hooks do not back.
PluginDescriptor negotiate(const wharf_plugin *offered);

}  // namespace wharf::plugin
