// Internal. The log files one config names (the daemon log and the
// listeners' access logs), opened by the master and held while a worker set
// serves that config. Workers never open a log file: each gets, as
// descriptors, the files its group writes, at start, at reload and after
// SIGUSR1 reopened them (as nginx's master does), so a plugin cannot make
// a root process open a file it chose.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/Config.h"
#include "logging/LineSink.h"

namespace wharf::master {

class WorkerProcess;

class LogFileSet {
 public:
  // THREAD: main. Opens every file `config` names (or shares the one open
  // already). Throws std::system_error naming a file that cannot be opened.
  explicit LogFileSet(const config::Config &config);

  // THREAD: main. Passes `worker` the files of the group of `listeners`:
  // the daemon log and their access logs. Throws if the worker has gone.
  void passTo(WorkerProcess &worker, const std::vector<std::string> &listeners) const;

 private:
  std::string daemonLog_;                          // a path, or empty: not a file
  std::map<std::string, std::string> accessLogs_;  // listener → path, for files only
  std::vector<std::shared_ptr<logging::LineSink>> held_;
};

}  // namespace wharf::master
