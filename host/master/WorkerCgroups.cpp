#include "master/WorkerCgroups.h"

#include <Poco/Logger.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <system_error>
#include <thread>

namespace wharf::master {
namespace {

constexpr const char *kMasterFolder = "master";
// How long a stopping master waits for killed processes to leave their cgroups.
constexpr std::chrono::seconds kEmptyingWait{2};

Poco::Logger &logger() {
  return Poco::Logger::get("master");
}

}  // namespace

std::unique_ptr<WorkerCgroups> WorkerCgroups::open() {
  auto own = process::Cgroup::of(::getpid());
  if (!own) return nullptr;
  if (own->name() == kMasterFolder && own->parent().delegated())
    return std::make_unique<WorkerCgroups>(own->parent());
  if (!own->delegated()) return nullptr;
  try {
    own->child(kMasterFolder).take(::getpid());
  } catch (const std::system_error &error) {
    logger().warning("cgroup " + own->folder().string() +
                     " is delegated, but the master cannot move out of it (" + error.what() +
                     "): workers share it");
    return nullptr;
  }
  logger().information("workers get cgroups of their own below " + own->folder().string());
  return std::make_unique<WorkerCgroups>(*own);
}

WorkerCgroups::~WorkerCgroups() {
  auto deadline = std::chrono::steady_clock::now() + kEmptyingWait;
  for (removeEmptied(); !emptying_.empty() && std::chrono::steady_clock::now() < deadline;
       removeEmptied())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (const auto &cgroup : emptying_)
    logger().warning("cgroup " + cgroup.folder().string() + " still holds processes: left");
}

std::optional<process::Cgroup> WorkerCgroups::place(pid_t pid) {
  try {
    process::Cgroup cgroup = service_.child("worker-" + std::to_string(pid));
    cgroup.take(pid);
    return cgroup;
  } catch (const std::system_error &error) {
    logger().warning("worker " + std::to_string(pid) +
                     " has no cgroup of its own: " + error.what());
    return std::nullopt;
  }
}

std::optional<process::Cgroup> WorkerCgroups::adopt(pid_t pid) const {
  auto cgroup = process::Cgroup::of(pid);
  if (!cgroup || cgroup->parent().folder() != service_.folder() || cgroup->name() == kMasterFolder)
    return std::nullopt;
  return cgroup;
}

void WorkerCgroups::end(const process::Cgroup &cgroup) {
  cgroup.killAll();
  if (!cgroup.remove()) emptying_.push_back(cgroup);
}

void WorkerCgroups::removeEmptied() {
  std::erase_if(emptying_, [](const process::Cgroup &cgroup) { return cgroup.remove(); });
}

}  // namespace wharf::master
