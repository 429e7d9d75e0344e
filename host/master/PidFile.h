// Internal. [host] pid_file: the master's process id, for what has no
// control socket client or systemd to find it (logrotate's postrotate in a
// container, runit, an init script). Written once the master has its
// sockets, removed when it exits; a binary upgrade keeps the pid, and the
// new binary writes it again. A file that names another live wharfd refuses
// the start: two daemons would fight over one pid file.
#pragma once

#include <filesystem>

namespace wharf::master {

class PidFile {
 public:
  // THREAD: main. Writes this process's id to `path` (through a temporary
  // file and a rename, so a reader never sees half of it); makes the folder
  // if it is missing. Throws std::runtime_error naming the path and why.
  explicit PidFile(std::filesystem::path path);
  // Removes the file if it still names this process.
  ~PidFile();
  PidFile(const PidFile &) = delete;
  PidFile &operator=(const PidFile &) = delete;

 private:
  std::filesystem::path path_;
};

}  // namespace wharf::master
