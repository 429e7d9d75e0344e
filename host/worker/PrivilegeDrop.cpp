#include "worker/PrivilegeDrop.h"

#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "process/Account.h"

namespace wharf::worker {
namespace {

[[noreturn]] void fail(const std::string &what) {
  throw std::runtime_error("dropping privileges: " + what + ": " + std::strerror(errno));
}

}  // namespace

void dropPrivileges(const std::string &user, const std::string &group) {
  if (user.empty()) return;
  process::Account account;
  try {
    account = process::lookUpAccount(user, group);
  } catch (const std::exception &error) {
    throw std::runtime_error(std::string("dropping privileges: ") + error.what());
  }
  gid_t gid = account.gid;
  if (::geteuid() == account.uid && ::getegid() == gid) return;  // already that user
  pid_t master = ::getppid();
  if (::geteuid() != 0) {
    errno = EPERM;
    fail("switching to user '" + user + "' needs wharfd started as root");
  }
  if (::initgroups(user.c_str(), gid) != 0) fail("initgroups");
  if (::setgid(gid) != 0) fail("setgid");
  if (::setuid(account.uid) != 0) fail("setuid");
  if (account.uid != 0 && ::setuid(0) == 0) {
    errno = EPERM;
    fail("root privileges could be regained");
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("PR_SET_NO_NEW_PRIVS");
  // The switch cleared the parent-death signal: a worker must still die with its master.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail("PR_SET_PDEATHSIG");
  if (::getppid() != master) {
    errno = ESRCH;
    fail("the master has gone");
  }
}

void setDumpable(bool coreDumps) {
  if (::prctl(PR_SET_DUMPABLE, coreDumps ? 1 : 0, 0, 0, 0) != 0) fail("PR_SET_DUMPABLE");
}

}  // namespace wharf::worker
