#include "process/DescriptorTable.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "net/FileDescriptor.h"

namespace wharf::process {

size_t reserveDescriptorSlots(size_t slots) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY)
    slots = std::min<size_t>(slots, files.rlim_cur);
  slots = std::min<size_t>(slots, INT_MAX);
  if (slots == 0) return 0;
  // Any descriptor will do to copy: an eventfd needs no file system.
  net::FileDescriptor probe(::eventfd(0, EFD_CLOEXEC));
  if (!probe.valid()) return 0;
  // The copy lands at slots - 1 or above, so the table grows to hold it.
  net::FileDescriptor highest(::fcntl(probe.fd(), F_DUPFD_CLOEXEC, static_cast<int>(slots - 1)));
  return highest.valid() ? slots : 0;
}

}  // namespace wharf::process
