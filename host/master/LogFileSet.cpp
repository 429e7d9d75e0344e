#include "master/LogFileSet.h"

#include <set>

#include "logging/LogFile.h"
#include "master/WorkerProcess.h"

namespace wharf::master {
namespace {

bool isFile(const std::string &destination) {
  return !destination.empty() && destination != "stderr" && destination != "syslog";
}

}  // namespace

LogFileSet::LogFileSet(const config::Config &config) {
  if (isFile(config.host.log)) daemonLog_ = config.host.log;
  for (const auto &listener : config.listeners)
    if (isFile(listener.accessLog)) accessLogs_[listener.name] = listener.accessLog;
  if (!daemonLog_.empty()) held_.push_back(logging::openLineSink(daemonLog_, "wharfd"));
  for (const auto &[listener, path] : accessLogs_)
    held_.push_back(logging::openLineSink(path, "wharfd"));
}

void LogFileSet::passTo(WorkerProcess &worker, const std::vector<std::string> &listeners) const {
  std::set<std::string> paths;
  if (!daemonLog_.empty()) paths.insert(daemonLog_);
  for (const auto &listener : listeners)
    if (auto found = accessLogs_.find(listener); found != accessLogs_.end())
      paths.insert(found->second);
  for (const auto &file : logging::openFiles())
    if (paths.contains(file->path())) worker.passLogFile(file->path(), file->fd());
}

}  // namespace wharf::master
