// libFuzzer: the INI reader and the config loader with every key's value
// parser (durations, counts, CIDR lists, addresses, paths, modes). Any input
// is a config or a ConfigError naming file, line, section and key; nothing
// else may escape. Seeds name /proc/self/exe as their plugin: an ELF file
// that exists, so the loader goes past the plugin checks.
#include <cstdlib>
#include <string>

#include "app/ConfigLoading.h"
#include "config/ConfigError.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const wharf::config::ConfigLoader loader = wharf::app::makeConfigLoader();
  std::string text(reinterpret_cast<const char *>(data), size);
  try {
    wharf::config::Config config = loader.parse("/fuzz/wharf.ini", text);
    for (const auto &listener : config.listeners) (void)listener.endpoint.text;
  } catch (const wharf::config::ConfigError &) {
    // the expected answer to a bad config
  }
  return 0;
}
