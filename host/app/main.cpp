// wharfd: the Wharf daemon.
#include <wharf/wharf.h>

#include <cstring>
#include <iostream>
#include <string_view>

#include "app/Daemon.h"
#include "app/Signals.h"

namespace {

constexpr const char *kUsage =
    "usage: wharfd --config FILE [--check-config]\n"
    "  --config FILE    the configuration (INI); relative paths in it resolve against its folder\n"
    "  --check-config   load and check the config and every plugin, then exit 0 (valid) or 2\n"
    "  --version        print the version and the plugin ABI\n";

}  // namespace

int main(int argc, char **argv) {
  wharf::app::DaemonOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    if (argument == "--config" && i + 1 < argc) {
      options.configFile = argv[++i];
    } else if (argument == "--check-config") {
      options.checkOnly = true;
    } else if (argument == "--version") {
      std::cout << "wharfd " WHARF_VERSION " (plugin ABI " << WHARF_ABI_MAJOR << "."
                << WHARF_ABI_MINOR << ")\n";
      return 0;
    } else if (argument == "--help" || argument == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "wharfd: unknown argument '" << argument << "'\n" << kUsage;
      return wharf::app::kExitRefused;
    }
  }
  if (options.configFile.empty()) {
    std::cerr << "wharfd: --config FILE is required\n" << kUsage;
    return wharf::app::kExitRefused;
  }
  wharf::app::blockDaemonSignals();
  return wharf::app::Daemon(std::move(options)).run();
}
