#include "process/Cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>
#include <system_error>

#include "net/FileDescriptor.h"

namespace wharf::process {
namespace {

// Where the cgroup2 hierarchy is mounted, and which of its folders that
// mount shows as its root: /sys/fs/cgroup and / on most systems, but
// /sys/fs/cgroup/unified on a hybrid one (cgroup v1 controllers beside it).
std::optional<std::pair<std::filesystem::path, std::filesystem::path>> cgroup2Mount() {
  std::ifstream mounts("/proc/self/mountinfo");
  for (std::string line; std::getline(mounts, line);) {
    auto separator = line.find(" - ");
    if (separator == std::string::npos || line.compare(separator + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line.substr(0, separator));
    std::string id, parent, device, root, point;
    if (fields >> id >> parent >> device >> root >> point) return std::pair{point, root};
  }
  return std::nullopt;
}

bool attributeIsOne(const std::filesystem::path &folder, const char *name) {
  char value[2] = {};
  return ::getxattr(folder.c_str(), name, value, sizeof value) == 1 && value[0] == '1';
}

}  // namespace

std::optional<Cgroup> Cgroup::of(pid_t pid) {
  auto mount = cgroup2Mount();
  if (!mount) return std::nullopt;
  std::ifstream cgroups("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(cgroups, line);) {
    if (!line.starts_with("0::")) continue;
    auto relative = std::filesystem::path(line.substr(3)).lexically_relative(mount->second);
    if (relative.empty() || *relative.begin() == "..") return std::nullopt;
    if (relative == ".") return Cgroup(mount->first);
    return Cgroup((mount->first / relative).lexically_normal());
  }
  return std::nullopt;
}

bool Cgroup::delegated() const {
  return attributeIsOne(folder_, "trusted.delegate") || attributeIsOne(folder_, "user.delegate");
}

Cgroup Cgroup::child(const std::string &name) const {
  return newChild(name).value_or(Cgroup(folder_ / name));
}

std::optional<Cgroup> Cgroup::newChild(const std::string &name) const {
  Cgroup made(folder_ / name);
  if (::mkdir(made.folder_.c_str(), 0755) == 0) return made;
  if (errno == EEXIST) return std::nullopt;
  throw std::system_error(errno, std::generic_category(), "mkdir " + made.folder_.string());
}

bool Cgroup::holds(pid_t pid) const {
  auto now = of(pid);
  return now && now->folder_ == folder_;
}

void Cgroup::take(pid_t pid) const {
  write("cgroup.procs", std::to_string(pid));
}

std::vector<pid_t> Cgroup::processes() const {
  std::vector<pid_t> pids;
  std::ifstream procs(folder_ / "cgroup.procs");
  for (pid_t pid; procs >> pid;) pids.push_back(pid);
  return pids;
}

bool Cgroup::kill(pid_t pid) const {
  // By a descriptor of the process, taken before the check: it cannot be
  // another process's by the time the signal goes.
  net::FileDescriptor process(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  return process.valid() && holds(pid) &&
         ::syscall(SYS_pidfd_send_signal, process.fd(), SIGKILL, nullptr, 0) == 0;
}

void Cgroup::killAll() const {
  try {
    write("cgroup.kill", "1");
    return;
  } catch (const std::system_error &) {
    // a kernel before 5.14: one by one
  }
  // Frozen (kernel 5.2), no process forks between the list and the kills, and
  // no pid listed is reused before its kill; a killed frozen process still
  // dies. Without the freezer a few rounds take what one forked meanwhile,
  // and whoever calls again later (WorkerCgroups) the rest.
  bool frozen = false;
  try {
    write("cgroup.freeze", "1");
    frozen = true;
  } catch (const std::system_error &) {
  }
  for (int round = 0; round < 8; ++round) {
    auto pids = processes();
    if (pids.empty()) break;
    for (pid_t pid : pids) ::kill(pid, SIGKILL);
  }
  if (frozen) {
    try {
      write("cgroup.freeze", "0");
    } catch (const std::system_error &) {
      // gone already
    }
  }
}

bool Cgroup::remove() const {
  return ::rmdir(folder_.c_str()) == 0 || errno == ENOENT;
}

void Cgroup::write(const char *file, const std::string &value) const {
  auto path = folder_ / file;
  net::FileDescriptor out(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!out.valid() || ::write(out.fd(), value.data(), value.size()) < 0)
    throw std::system_error(errno, std::generic_category(), "write " + path.string());
}

}  // namespace wharf::process
