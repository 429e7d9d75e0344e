// Internal. One cgroup v2 folder (`/sys/fs/cgroup/…/NAME`), by path: the
// processes in it, moving one there, killing them all (what a plugin started
// and sent away with setsid() included), removing it once empty.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace wharf::process {

class Cgroup {
 public:
  // The cgroup v2 folder process `pid` is in (its "0::" line in
  // /proc/PID/cgroup, below the cgroup2 mount); none without cgroup v2.
  static std::optional<Cgroup> of(pid_t pid);

  explicit Cgroup(std::filesystem::path folder) : folder_(std::move(folder)) {}

  const std::filesystem::path &folder() const { return folder_; }
  std::string name() const { return folder_.filename().string(); }
  Cgroup parent() const { return Cgroup(folder_.parent_path()); }
  // Whoever made it handed it over to this service (systemd's Delegate=yes
  // marks it so: the trusted.delegate or user.delegate attribute is "1").
  bool delegated() const;

  // A folder `name` below this one, made if missing. Throws std::system_error.
  Cgroup child(const std::string &name) const;
  // A new folder `name` below this one: none if it exists already. Throws
  // std::system_error for any other failure.
  std::optional<Cgroup> newChild(const std::string &name) const;
  // Whether process `pid` is in it (checked again before a signal: a pid
  // read from a list may have been reused since).
  bool holds(pid_t pid) const;
  // Moves process `pid` (all its threads) here. Throws std::system_error.
  void take(pid_t pid) const;
  // The processes in it now (none once it is gone).
  std::vector<pid_t> processes() const;
  // Kills process `pid` if it is (still) in it; false if it is not.
  bool kill(pid_t pid) const;
  // Kills every process in it (cgroup.kill where the kernel has it, else
  // each listed one, frozen first where the kernel can, so that none forks
  // meanwhile).
  void killAll() const;
  // Removes the folder; false while a process is still in it.
  bool remove() const;

 private:
  // Writes `value` to its file `file`. Throws std::system_error.
  void write(const char *file, const std::string &value) const;

  std::filesystem::path folder_;
};

}  // namespace wharf::process
