// Internal. The config loader every role uses, with this build's defaults:
// the plugin folder and the dispatch modes with their keys.
#pragma once

#include "config/ConfigLoader.h"

namespace wharf::app {

config::ConfigLoader makeConfigLoader();

}  // namespace wharf::app
