#include "process/Account.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <stdexcept>

namespace wharf::process {

bool Account::mayWrite(const struct stat &status) const {
  if (status.st_uid == uid) return true;  // it can chmod it
  if (std::find(groups.begin(), groups.end(), status.st_gid) != groups.end())
    return (status.st_mode & S_IWGRP) != 0;
  return (status.st_mode & S_IWOTH) != 0;
}

Account lookUpAccount(const std::string &user, const std::string &group) {
  std::vector<char> buffer(16384);
  passwd entry{}, *found = nullptr;
  if (::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
    throw std::runtime_error("no user '" + user + "'");
  Account account{user, entry.pw_uid, entry.pw_gid, {}};
  if (!group.empty()) {
    std::vector<char> groupBuffer(16384);
    struct group groupEntry {
    }, *groupFound = nullptr;
    if (::getgrnam_r(group.c_str(), &groupEntry, groupBuffer.data(), groupBuffer.size(),
                     &groupFound) != 0 ||
        !groupFound)
      throw std::runtime_error("no group '" + group + "'");
    account.gid = groupFound->gr_gid;
  }
  int count = 32;
  for (;;) {
    account.groups.resize(static_cast<size_t>(count));
    int asked = count;
    if (::getgrouplist(user.c_str(), account.gid, account.groups.data(), &count) >= 0) break;
    if (count <= asked) count = asked * 2;  // glibc says how many; others may not
  }
  account.groups.resize(static_cast<size_t>(count));
  return account;
}

}  // namespace wharf::process
