// Internal. The folder a control socket or pid file goes in (/run/wharf),
// made when it is missing: /run is a tmpfs, empty after each boot, and not
// every supervisor makes it (systemd's RuntimeDirectory= does; runit, a
// container's entrypoint or an operator's shell do not).
#pragma once

#include <filesystem>

namespace wharf::app {

// THREAD: main. Makes `file`'s folder (one level, mode 0755) if it does not
// exist; an existing one is left as it is. Throws std::runtime_error naming
// the folder and why it could not be made.
void makeRuntimeFolder(const std::filesystem::path &file);

}  // namespace wharf::app
