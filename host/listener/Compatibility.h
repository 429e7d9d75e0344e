// Internal. Whether a plugin can serve a listener's transport in its mode.
#pragma once

#include "config/Config.h"
#include "dispatch/DispatchMode.h"
#include "plugin/Plugin.h"

namespace wharf::listener {

// Throws ListenerError naming listener, plugin and mode, and what is missing.
void checkCompatibility(const config::ListenerConfig &config, const dispatch::DispatchMode &mode,
                        const plugin::Plugin &plugin);

}  // namespace wharf::listener
