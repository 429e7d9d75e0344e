// Internal. wharfd logs through Poco's root logger, as `[host] log` says: to
// standard error (journald adds its own timestamps under systemd; ours help
// when run by hand), to syslog, or to a file that SIGUSR1 reopens.
#pragma once

#include <string>
#include <vector>

namespace wharf::app {

// THREAD: main, while no other thread logs. `level` is a Poco level name;
// `destination` is "stderr", "syslog" or an absolute file path. Throws
// std::system_error if the file cannot be opened.
void configureLogging(const std::string &level, const std::string &destination = "stderr");
// THREAD: main, in the master. SIGUSR1 or `wharfctl reopen` (`cause`):
// every log file (wharfd's and the access logs) is opened again by its path,
// after logrotate moved it; a file that cannot be reopened keeps its old
// one. Logs and returns why each that failed did.
std::vector<std::string> reopenLogFiles(const std::string &cause);
// THREAD: any. Changes the level only: the channel is never replaced while
// other threads may be logging through it.
void setLogLevel(const std::string &level);

}  // namespace wharf::app
