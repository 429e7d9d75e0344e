// Whether a peer is still reading what the kernel holds for it. A socket's
// send buffer grows to megabytes, and the kernel wakes a writer only once a
// third of it is free, so a slow but steady reader can leave the writer with
// nothing to do for longer than idle_timeout. The kernel's count of unsent
// bytes (SIOCOUTQ) tells such a reader from one that stopped.
#pragma once

namespace wharf::net {

class SendProgress {
 public:
  explicit SendProgress(int fd) : fd_(fd) {}
  // True if the unsent bytes changed since the last call (the first call:
  // if there are any).
  bool advanced();

 private:
  int fd_;
  int lastUnsent_ = 0;
};

}  // namespace wharf::net
