#include "app/ConfigCheck.h"

#include <Poco/Logger.h>

#include <iostream>

#include "app/ConfigLoading.h"
#include "app/Logging.h"
#include "listener/ListenerSet.h"
#include "logging/LineSink.h"
#include "plugin/PluginSet.h"

namespace wharf::app {

int checkConfig(const std::filesystem::path &configFile) {
  // A check binds nothing and creates no file (it may run as root, before
  // the master that would create them as it should).
  logging::setFileAccess(logging::FileAccess::Discard);
  configureLogging("information");
  try {
    config::Config config = makeConfigLoader().load(configFile);
    plugin::PluginSet plugins;
    listener::ListenerSet listeners;
    listeners.open(config);
    listeners.load(plugins);
    std::cout << configFile.string() << ": OK (" << listeners.serving().size() << " listeners)\n";
    return 0;
  } catch (const std::exception &error) {
    Poco::Logger::get("wharfd").error(error.what());
    Poco::Logger::get("wharfd").error("nothing started");
    return 2;
  }
}

}  // namespace wharf::app
