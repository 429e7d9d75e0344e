#include "plugin/PluginSet.h"

namespace wharf::plugin {

std::shared_ptr<const Plugin> PluginSet::get(const std::filesystem::path &file) {
  auto &slot = loaded_[file];
  if (!slot) slot = Plugin::load(file);
  return slot;
}

}  // namespace wharf::plugin
