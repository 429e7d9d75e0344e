#include "app/ProcessLimits.h"

#include <sys/resource.h>

namespace wharf::app {

std::string raiseOpenFileLimit() {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return "open files limit unknown";
  if (files.rlim_cur < files.rlim_max) {
    rlim_t before = files.rlim_cur;
    files.rlim_cur = files.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &files) == 0)
      return "open files limit raised from " + std::to_string(before) + " to " +
             std::to_string(files.rlim_cur);
    files.rlim_cur = before;
  }
  return "open files limit " + std::to_string(files.rlim_cur);
}

}  // namespace wharf::app
