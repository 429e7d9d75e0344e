// Internal. What a blocking-style session's plugin polls to learn that a
// reload asks the session to move to newer code (session_handover_fd): an
// eventfd, readable while the host asks. Made the first time the plugin asks
// for it, so sessions whose plugin never polls it cost no descriptor.
// THREAD: any; internally locked (a reload rings it from the main thread).
#pragma once

#include <mutex>

#include "net/HostDescriptor.h"

namespace wharf::session {

class HandoverBell {
 public:
  // The descriptor to poll; -1 if no eventfd can be had.
  int fd();
  // Readable from now on (also for a descriptor made later), until silence().
  void ring();
  void silence();

 private:
  void signal();  // writes the eventfd, as ringing_ says

  std::mutex mutex_;
  net::HostDescriptor event_;
  bool ringing_ = false;
};

}  // namespace wharf::session
