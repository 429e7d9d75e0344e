// Internal. The plugins the config names, each file loaded once however many
// listeners use it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>

#include "plugin/Plugin.h"

namespace wharf::plugin {

class PluginSet {
 public:
  // THREAD: main. Throws PluginError.
  std::shared_ptr<const Plugin> get(const std::filesystem::path &file);

 private:
  std::map<std::filesystem::path, std::shared_ptr<const Plugin>> loaded_;
};

}  // namespace wharf::plugin
