#include "net/SendProgress.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>

namespace wharf::net {

bool SendProgress::advanced() {
  int unsent = 0;
  if (::ioctl(fd_, SIOCOUTQ, &unsent) != 0) return false;
  bool changed = unsent != lastUnsent_;
  lastUnsent_ = unsent;
  return changed;
}

}  // namespace wharf::net
