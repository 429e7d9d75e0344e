// Internal. A descriptor of wharfd's own machinery: the master's channel,
// listening sockets, fork helpers' channels, the dispatchers' epoll sets,
// eventfds and timers. fork() copies every descriptor (Linux has no
// close-on-fork flag), and a fork listener's session processes run plugin
// code that must not reach them: speak to the master for the worker, accept
// another listener's connections, command another listener's helper or
// change a dispatcher's epoll set. So each is listed while it is open, and
// the helper closes the listed ones it does not need right after it is
// forked. Plugins' own descriptors, their staged copies and log files are
// not listed: session processes need them.
#pragma once

#include "net/FileDescriptor.h"

namespace wharf::net {

class HostDescriptor {
 public:
  HostDescriptor() = default;
  explicit HostDescriptor(FileDescriptor descriptor);  // lists it (if valid)
  explicit HostDescriptor(int fd) : HostDescriptor(FileDescriptor(fd)) {}
  HostDescriptor(HostDescriptor &&other) noexcept = default;
  HostDescriptor &operator=(HostDescriptor &&other) noexcept;
  HostDescriptor(const HostDescriptor &) = delete;
  HostDescriptor &operator=(const HostDescriptor &) = delete;
  ~HostDescriptor();  // unlists, then closes

  int fd() const { return descriptor_.fd(); }
  bool valid() const { return descriptor_.valid(); }
  // Unlisted, still open, owned by the caller.
  FileDescriptor release();

  // THREAD: the only thread of a process just forked. Closes every listed
  // descriptor but `kept` (-1: none).
  static void closeAllBut(int kept);

 private:
  void unlist();

  FileDescriptor descriptor_;
};

}  // namespace wharf::net
