#include "process/Identity.h"

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace wharf::process {

std::string currentUserName() {
  std::vector<char> buffer(16384);
  passwd entry{}, *found = nullptr;
  uid_t uid = ::geteuid();
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found)
    return entry.pw_name;
  return std::to_string(uid);
}

}  // namespace wharf::process
