// Internal. wharfd logs through Poco's root logger to stderr (journald adds
// its own timestamps under systemd; ours help when run by hand).
#pragma once

#include <string>

namespace wharf::app {

// THREAD: main, before any other thread starts. `level` is a Poco level name.
void configureLogging(const std::string &level);
// THREAD: any. Changes the level only: the channel is never replaced while
// other threads may be logging through it.
void setLogLevel(const std::string &level);

}  // namespace wharf::app
