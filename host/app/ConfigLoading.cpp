#include "app/ConfigLoading.h"

#include "dispatch/DispatchMode.h"

namespace wharf::app {
namespace {

// Beside a build tree's bin/ lies plugins/; an installed wharfd finds the
// plugin folder where the install put it relative to bin/ (under any prefix).
std::filesystem::path defaultPluginDir() {
  std::error_code error;
  auto bin = std::filesystem::read_symlink("/proc/self/exe", error).parent_path();
  auto beside = bin / ".." / "plugins";
  if (!error && std::filesystem::is_directory(beside, error)) return beside.lexically_normal();
  return (bin / WHARF_PLUGIN_DIR_FROM_BIN).lexically_normal();
}

}  // namespace

config::ConfigLoader makeConfigLoader() {
  return config::ConfigLoader({defaultPluginDir(), dispatch::dispatchModeDescriptions()});
}

}  // namespace wharf::app
