#include "master/NewBinary.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "app/Signals.h"
#include "master/ServiceManager.h"
#include "process/SignalDefaults.h"
#include "zone/ZoneRegistry.h"

extern char **environ;

namespace wharf::master {
namespace {

// A child that loads plugins in the serving zones' space would attach to
// them, and remove them as it exits: it gets a space of its own.
bool isZoneSpace(const char *entry) {
  return std::string_view(entry).starts_with(std::string(zone::kZoneSpaceVariable) + "=");
}

// argv and envp as exec takes them, pointing into strings kept by the caller.
struct CommandLine {
  std::vector<std::string> texts;
  std::vector<char *> argv, envp;

  CommandLine(const std::filesystem::path &program, const std::vector<std::string> &arguments,
              const std::vector<std::string> &variables, bool forMaster) {
    texts.push_back(program.string());
    texts.insert(texts.end(), arguments.begin(), arguments.end());
    size_t argumentCount = texts.size();
    texts.insert(texts.end(), variables.begin(), variables.end());
    for (size_t i = 0; i < argumentCount; ++i) argv.push_back(texts[i].data());
    argv.push_back(nullptr);
    for (char **entry = environ; *entry != nullptr; ++entry)
      if (forMaster || !(isServiceManagerVariable(*entry) || isZoneSpace(*entry)))
        envp.push_back(*entry);
    for (size_t i = argumentCount; i < texts.size(); ++i) envp.push_back(texts[i].data());
    envp.push_back(nullptr);
  }
};

}  // namespace

NewBinary::NewBinary(std::filesystem::path path)
    : path_(std::move(path)), file_(::open(path_.c_str(), O_RDONLY | O_CLOEXEC)) {
  if (!file_.valid())
    throw std::runtime_error("cannot open " + path_.string() + ": " + std::strerror(errno));
}

pid_t NewBinary::start(const std::vector<std::string> &arguments,
                       const std::vector<std::string> &variables, const std::vector<int> &kept,
                       int output) const {
  // Everything the child needs is made before fork: after it, in a
  // threaded process, only async-signal-safe calls are allowed.
  CommandLine command(path_, arguments, variables, false);
  pid_t master = ::getpid();
  int file = file_.fd();
  pid_t child = ::fork();
  if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (child != 0) return child;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != master) ::_exit(127);
  ::setpgid(0, 0);
  process::restoreSignalDefaults();
  if (::dup2(output, STDOUT_FILENO) < 0 || ::dup2(output, STDERR_FILENO) < 0) ::_exit(127);
  ::close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC);
  for (int fd : kept) ::fcntl(fd, F_SETFD, 0);
  ::fcntl(file, F_SETFD, 0);  // a script's interpreter opens it by /dev/fd
  ::fexecve(file, command.argv.data(), command.envp.data());
  ::_exit(127);
}

void NewBinary::exec(const std::vector<std::string> &arguments,
                     const std::vector<std::string> &variables) const {
  CommandLine command(path_, arguments, variables, true);
  // A stop already asked for is carried out here, draining, not by the
  // default action the moment the signals are unblocked.
  if (app::stopSignalWaiting()) {
    errno = EINTR;
    return;
  }
  sigset_t stops = app::stopSignals();
  ::sigprocmask(SIG_UNBLOCK, &stops, nullptr);
  ::fcntl(file_.fd(), F_SETFD, 0);
  ::fexecve(file_.fd(), command.argv.data(), command.envp.data());
  int error = errno;
  ::fcntl(file_.fd(), F_SETFD, FD_CLOEXEC);
  ::sigprocmask(SIG_BLOCK, &stops, nullptr);
  errno = error;
}

}  // namespace wharf::master
