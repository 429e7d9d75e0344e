// Internal. Each worker in a cgroup v2 folder of its own, where the service
// manager delegated wharfd's cgroup to it (systemd's Delegate=yes): what a
// plugin starts, even sent out of its worker's process group with setsid(),
// is found there, counted against memory_limit and ended with its worker.
// The master moves itself to a "master" folder beside theirs (the cgroup v2
// rule: processes only in leaves); workers go to "worker-PID". A master that
// an upgrade or a rehearsal starts finds that folder and uses its parent.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <vector>

#include "process/Cgroup.h"

namespace wharf::master {

class WorkerCgroups {
 public:
  // The subtree this master may use, set up; none where its cgroup was not
  // delegated (or there is no cgroup v2), or the master could not move out
  // of it (logged).
  static std::unique_ptr<WorkerCgroups> open();

  explicit WorkerCgroups(process::Cgroup service) : service_(std::move(service)) {}
  // Removes the cgroups still emptying, waiting a moment for the killed to go.
  ~WorkerCgroups();
  WorkerCgroups(const WorkerCgroups &) = delete;
  WorkerCgroups &operator=(const WorkerCgroups &) = delete;

  // Moves worker `pid`, just forked and running no plugin yet, into a cgroup
  // of its own; none (logged) if that fails: it then serves without one.
  std::optional<process::Cgroup> place(pid_t pid);
  // The cgroup an earlier master placed worker `pid` in (an upgrade handed
  // the worker over); none if it is not in one of this subtree.
  std::optional<process::Cgroup> adopt(pid_t pid) const;
  // Once worker `cgroup`'s process is reaped: kills what is left in it and
  // removes it, or keeps it to remove once the killed have gone.
  void end(const process::Cgroup &cgroup);
  // Kills again what is left in the kept ones, and removes those that have
  // emptied.
  void removeEmptied();
  // After an upgrade: ends every worker cgroup but those of the workers
  // handed over (one the old master was still emptying, its own list gone
  // with its exec). Never in a rehearsal: it shares the real master's.
  void endAllBut(const std::vector<process::Cgroup> &kept);

 private:
  process::Cgroup service_;
  std::vector<process::Cgroup> emptying_;
};

}  // namespace wharf::master
