#include "master/WorkerCgroups.h"

#include <Poco/Logger.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
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
  if (!own->delegated()) {
    logger().information("workers share the master's cgroup " + own->folder().string() +
                         ": it was not delegated to wharfd (systemd: Delegate=yes)");
    return nullptr;
  }
  std::optional<process::Cgroup> master;
  try {
    master = own->child(kMasterFolder);
    master->take(::getpid());
  } catch (const std::system_error &error) {
    if (master) master->remove();  // else a rehearsal would take it for the real master's
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
  std::optional<process::Cgroup> cgroup;
  try {
    // A folder of its own, never one an earlier worker of a reused pid left
    // with a process still in it.
    std::string name = "worker-" + std::to_string(pid);
    for (int attempt = 1; !cgroup && attempt <= 8; ++attempt)
      cgroup = service_.newChild(attempt == 1 ? name : name + "-" + std::to_string(attempt));
    if (!cgroup) throw std::system_error(EEXIST, std::generic_category(), "mkdir " + name);
    cgroup->take(pid);
    return cgroup;
  } catch (const std::system_error &error) {
    if (cgroup) cgroup->remove();
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
  std::erase_if(emptying_, [](const process::Cgroup &cgroup) {
    if (cgroup.remove()) return true;
    cgroup.killAll();  // what forked past the last kill (no cgroup.kill before Linux 5.14)
    return false;
  });
}

void WorkerCgroups::endAllBut(const std::vector<process::Cgroup> &kept) {
  std::error_code error;
  for (std::filesystem::directory_iterator entry(service_.folder(), error), last;
       !error && entry != last; entry.increment(error)) {
    process::Cgroup cgroup(entry->path());
    bool isKept = std::any_of(kept.begin(), kept.end(), [&](const process::Cgroup &one) {
      return one.folder() == cgroup.folder();
    });
    if (entry->is_directory() && cgroup.name().starts_with("worker-") && !isKept) end(cgroup);
  }
}

}  // namespace wharf::master
