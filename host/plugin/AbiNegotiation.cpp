#include "plugin/AbiNegotiation.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "logging/PrintableText.h"

namespace wharf::plugin {
namespace {

std::string abi(unsigned major, unsigned minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

void checkHeader(const wharf_abi_header &header) {
  if (header.magic != WHARF_PLUGIN_MAGIC)
    throw std::invalid_argument("bad magic in the plugin descriptor: not a Wharf plugin");
  if (header.abi_major != WHARF_ABI_MAJOR)
    throw std::invalid_argument("built for Wharf ABI " + abi(header.abi_major, header.abi_minor) +
                                ", this host speaks ABI major " + std::to_string(WHARF_ABI_MAJOR));
  if (header.abi_minor > WHARF_ABI_MINOR)
    throw std::invalid_argument("needs Wharf ABI " + abi(header.abi_major, header.abi_minor) +
                                ", this host offers " + abi(WHARF_ABI_MAJOR, WHARF_ABI_MINOR) +
                                ": upgrade wharfd");
  if (header.pointer_size != sizeof(void *) || header.size_t_size != sizeof(size_t) ||
      header.off_t_size != sizeof(off_t))
    throw std::invalid_argument(
        "built for another machine model (pointer/size_t/off_t sizes " +
        std::to_string(header.pointer_size) + "/" + std::to_string(header.size_t_size) + "/" +
        std::to_string(header.off_t_size) + ", host " + std::to_string(sizeof(void *)) + "/" +
        std::to_string(sizeof(size_t)) + "/" + std::to_string(sizeof(off_t)) + ")");
  if (header.struct_size < offsetof(wharf_plugin, serve) + sizeof(void *))
    throw std::invalid_argument("plugin descriptor is smaller than ABI 1.0's");
}

void checkHooks(const PluginDescriptor &plugin) {
  const wharf_plugin &hooks = plugin.hooks;
  if (!plugin.has(WHARF_CAP_EVENT) && !plugin.has(WHARF_CAP_BLOCKING))
    throw std::invalid_argument("declares neither WHARF_CAP_EVENT nor WHARF_CAP_BLOCKING");
  if (!plugin.has(WHARF_CAP_STREAM) && !plugin.has(WHARF_CAP_DATAGRAM))
    throw std::invalid_argument("declares neither WHARF_CAP_STREAM nor WHARF_CAP_DATAGRAM");
  if (plugin.has(WHARF_CAP_BLOCKING) && hooks.serve == nullptr)
    throw std::invalid_argument("declares WHARF_CAP_BLOCKING without a serve hook");
  if (plugin.has(WHARF_CAP_EVENT) && plugin.has(WHARF_CAP_STREAM) &&
      hooks.on_session_data == nullptr)
    throw std::invalid_argument("declares event-style streams without on_session_data");
  if (plugin.has(WHARF_CAP_EVENT) && plugin.has(WHARF_CAP_DATAGRAM) && hooks.on_datagram == nullptr)
    throw std::invalid_argument("declares event-style datagrams without on_datagram");
}

}  // namespace

PluginDescriptor negotiate(const wharf_plugin *offered) {
  if (offered == nullptr)
    throw std::invalid_argument("wharf_plugin_entry returned NULL (the plugin refused to load)");
  checkHeader(offered->header);
  PluginDescriptor plugin;
  std::memcpy(&plugin.hooks, offered,
              std::min<size_t>(offered->header.struct_size, sizeof plugin.hooks));
  if (plugin.hooks.name == nullptr || *plugin.hooks.name == '\0')
    throw std::invalid_argument("the descriptor has no name");
  if (plugin.hooks.version == nullptr) throw std::invalid_argument("the descriptor has no version");
  plugin.name = plugin.hooks.name;
  plugin.version = plugin.hooks.version;
  // They open every log line about the plugin: no line of their own in them.
  if (logging::printable(plugin.name) != plugin.name ||
      logging::printable(plugin.version) != plugin.version)
    throw std::invalid_argument("the descriptor's name or version has control characters");
  plugin.description = logging::printable(plugin.hooks.description ? plugin.hooks.description : "");
  checkHooks(plugin);
  return plugin;
}

}  // namespace wharf::plugin
