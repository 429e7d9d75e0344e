#include "app/ConfigLoading.h"

#include "dispatch/DispatchMode.h"

namespace wharf::app {
namespace {

// Beside a build tree's bin/ lies plugins/; an installed wharfd uses the
// install location chosen at build time.
std::filesystem::path defaultPluginDir() {
  std::error_code error;
  auto beside =
      std::filesystem::read_symlink("/proc/self/exe", error).parent_path() / ".." / "plugins";
  if (!error && std::filesystem::is_directory(beside, error)) return beside.lexically_normal();
  return WHARF_INSTALL_PLUGIN_DIR;
}

}  // namespace

config::ConfigLoader makeConfigLoader() {
  return config::ConfigLoader({defaultPluginDir(), dispatch::dispatchModeKeys()});
}

}  // namespace wharf::app
