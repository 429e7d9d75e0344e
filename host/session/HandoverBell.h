// Internal. What a blocking-style session's plugin polls to learn that a
// reload asks the session to move to newer code (session_handover_fd): the
// read end of a pipe, readable while the host asks. Made the first time the
// plugin asks for it, so sessions whose plugin never polls it cost nothing.
// A pipe, not an eventfd: the plugin is handed a descriptor number it may
// close, after which the number can name anything; each end's inode is
// checked before the host writes or drains it, and pipes, unlike eventfds,
// have inodes of their own. THREAD: any; internally locked (a reload rings
// it from the main thread).
#pragma once

#include <sys/types.h>

#include <mutex>

#include "net/HostDescriptor.h"

namespace wharf::session {

class HandoverBell {
 public:
  // The descriptor to poll; -1 if no pipe can be had.
  int fd();
  // Readable from now on (also for a descriptor made later), until silence().
  void ring();
  void silence();

 private:
  // One end, and the inode it had when made.
  struct End {
    net::HostDescriptor descriptor;
    ino_t inode = 0;
    // Still the pipe end it was: not closed by the plugin and reused.
    bool intact() const;
  };
  void signal();  // makes the read end readable, or not, as ringing_ says

  std::mutex mutex_;
  End read_, write_;
  bool ringing_ = false;
  bool rung_ = false;  // a byte is in the pipe
};

}  // namespace wharf::session
