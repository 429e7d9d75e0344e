// wharfd: the Wharf daemon. Started by an operator it is the master; the
// master starts its workers as `wharfd --worker GROUP --config FILE`.
#include <sys/prctl.h>
#include <wharf/wharf.h>

#include <cstring>
#include <iostream>
#include <string_view>

#include "app/ConfigCheck.h"
#include "app/Signals.h"
#include "app/Version.h"
#include "master/Master.h"
#include "master/WorkerProcess.h"
#include "worker/Worker.h"

namespace {

constexpr int kExitRefused = 2;

constexpr const char *kUsage =
    "usage: wharfd --config FILE [--check-config]\n"
    "  --config FILE    the configuration (INI); relative paths in it resolve against its folder\n"
    "  --check-config   load and check the config and every plugin, then exit 0 (valid) or 2\n"
    "  --version        print the version and the plugin ABI\n";

}  // namespace

int main(int argc, char **argv) {
  std::filesystem::path configFile;
  bool checkOnly = false, worker = false, rehearsal = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    if (argument == "--config" && i + 1 < argc) {
      configFile = argv[++i];
    } else if (argument == "--check-config") {
      checkOnly = true;
    } else if (argument == "--rehearse-upgrade") {
      rehearsal = true;  // by an upgrading master (master/Upgrade.h)
    } else if (argument == "--worker" && i + 1 < argc) {
      worker = true;
      ++i;  // the group's name: there for ps and the log
    } else if (argument == "--version") {
      std::cout << "wharfd " << wharf::app::version() << " (build " << wharf::app::buildId()
                << ", plugin ABI " << WHARF_ABI_MAJOR << "." << WHARF_ABI_MINOR << ")\n";
      return 0;
    } else if (argument == "--help" || argument == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "wharfd: unknown argument '" << argument << "'\n" << kUsage;
      return kExitRefused;
    }
  }
  if (configFile.empty()) {
    std::cerr << "wharfd: --config FILE is required\n" << kUsage;
    return kExitRefused;
  }
  wharf::app::blockDaemonSignals();
  // Non-dumpable until the config says otherwise ([host] core_dumps): no
  // other process of this user (a plugin in another worker) may ptrace this
  // one or take its descriptors, not even before the config is read.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // Its name for ps, pkill -x and logrotate: a master that an upgrade started
  // from a descriptor (fexecve) was named after the descriptor's number, and
  // workers (exec of /proc/self/exe) "exe".
  ::prctl(PR_SET_NAME, "wharfd", 0, 0, 0);
  if (checkOnly) return wharf::app::checkConfig(configFile);
  if (worker)
    return wharf::worker::Worker(configFile,
                                 wharf::net::FileDescriptor(wharf::master::kWorkerChannelFd))
        .run();
  std::error_code error;
  // Where the next upgrade looks for its binary: this one's path, even if a
  // package has since replaced the file (the link then ends in " (deleted)").
  std::string binary = std::filesystem::read_symlink("/proc/self/exe", error).string();
  if (error) {
    std::cerr << "wharfd: cannot find its own binary: " << error.message() << "\n";
    return kExitRefused;
  }
  if (constexpr std::string_view deleted = " (deleted)"; binary.ends_with(deleted))
    binary.resize(binary.size() - deleted.size());
  wharf::master::Master master({std::filesystem::absolute(configFile), binary});
  return rehearsal ? master.runRehearsal() : master.run();
}
