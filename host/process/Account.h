// Internal. The account the workers run as ([host] user and group): what a
// worker switches to, and whose reach the master keeps out of its own work
// (which folders a plugin could have laid a trap in).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace wharf::process {

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;              // [host] group, or the user's own
  std::vector<gid_t> groups;  // what initgroups gives it: gid and the user's other groups

  // Whether this account may write the file or folder `status` describes,
  // now or after a chmod of its own: an owner may always (whatever the mode
  // bits say now), others by the group or other bits. ACLs are not read here.
  bool mayWrite(const struct stat &status) const;
};

// THREAD: any. [host] user and group (empty: the user's own group). Throws
// std::runtime_error naming the user or group that does not exist.
Account lookUpAccount(const std::string &user, const std::string &group);

}  // namespace wharf::process
