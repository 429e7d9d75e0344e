#include "listener/Compatibility.h"

#include "listener/ListenerError.h"

namespace wharf::listener {

void checkCompatibility(const config::ListenerConfig &config, const dispatch::DispatchMode &mode,
                        const plugin::Plugin &plugin) {
  auto refuse = [&](const std::string &reason) {
    throw ListenerError("listener [" + config.section() + "]: plugin '" + plugin.name() + "' (" +
                        plugin.file().string() + ") in mode '" + std::string(mode.name) +
                        "': " + reason);
  };
  bool stream = net::isStream(config.endpoint.transport);
  std::string transport(net::transportName(config.endpoint.transport));
  if (stream && !plugin.has(WHARF_CAP_STREAM))
    refuse("the plugin does not serve stream transports (" + transport + ")");
  if (!stream && !plugin.has(WHARF_CAP_DATAGRAM))
    refuse("the plugin does not serve datagram transports (" + transport + ")");
  if (!plugin.has(WHARF_CAP_EVENT) && !mode.runsBlockingStyle)
    refuse("the plugin is blocking-style only (serve) and this mode runs event-style plugins only");
  if ((mode.requiredCapabilities & WHARF_CAP_CONCURRENT) && !plugin.has(WHARF_CAP_CONCURRENT))
    refuse(
        "the mode runs sessions concurrently and the plugin does not declare "
        "WHARF_CAP_CONCURRENT; use mode = sync");
  if (config.tls.enabled && plugin.has(WHARF_CAP_OWN_SOCKET))
    refuse(
        "the plugin reads and writes its sessions' sockets itself (WHARF_CAP_OWN_SOCKET), "
        "which carry TLS records with tls = on: turn tls off (a plugin such as ftp does TLS of "
        "its own)");
  if (config.migration.enabled && plugin.hooks().session_export == nullptr &&
      plugin.hooks().session_import == nullptr && plugin.hooks().resume == nullptr)
    refuse(
        "migrate = on, and the plugin carries no sessions (it has neither session_export nor "
        "session_import, SDK 1.5, nor resume, 1.6): its sessions would drain, not move; turn "
        "migrate off");
  // Event hooks driven by a thread keep no point the host could move them at.
  if (config.migration.enabled && mode.name != "reactor" &&
      mode.styleFor(plugin) == session::Style::Event)
    refuse("migrate = on, and in mode = " + std::string(mode.name) +
           " the plugin runs event-style sessions, which move only in mode = reactor (or "
           "blocking-style ones, serve, here); turn migrate off");
  if ((mode.requiredCapabilities & WHARF_CAP_FORK_SAFE) && !plugin.has(WHARF_CAP_FORK_SAFE))
    refuse(
        "the mode serves sessions in forked processes and the plugin does not declare "
        "WHARF_CAP_FORK_SAFE");
}

}  // namespace wharf::listener
