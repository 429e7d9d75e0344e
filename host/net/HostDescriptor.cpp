#include "net/HostDescriptor.h"

#include <pthread.h>
#include <unistd.h>

#include <mutex>
#include <set>

namespace wharf::net {
namespace {

struct Listed {
  std::mutex mutex;
  std::multiset<int> fds;
};

// Never destroyed: static objects that hold descriptors may outlive it otherwise.
// The list is locked across every fork(): another thread listing or unlisting
// a descriptor at that moment would leave the child a mutex nobody can unlock
// and a list half changed. A worker forks its helpers before it starts
// threads, so that cannot happen today; this keeps the list safe if that
// changes (glibc guards malloc's own locks the same way).
Listed &listed() {
  static Listed *all = [] {
    ::pthread_atfork([] { listed().mutex.lock(); }, [] { listed().mutex.unlock(); },
                     [] { listed().mutex.unlock(); });
    return new Listed;
  }();
  return *all;
}

// Made at load time, before main() can start a thread: a fork while another
// thread was still making the list would leave the child waiting forever on
// an initialisation nobody finishes.
[[maybe_unused]] const Listed &listedAtLoad = listed();

}  // namespace

HostDescriptor::HostDescriptor(FileDescriptor descriptor) : descriptor_(std::move(descriptor)) {
  if (!valid()) return;
  std::lock_guard lock(listed().mutex);
  listed().fds.insert(fd());
}

HostDescriptor &HostDescriptor::operator=(HostDescriptor &&other) noexcept {
  if (this != &other) {
    unlist();
    descriptor_ = std::move(other.descriptor_);
  }
  return *this;
}

HostDescriptor::~HostDescriptor() {
  unlist();
}

FileDescriptor HostDescriptor::release() {
  unlist();
  return std::move(descriptor_);
}

void HostDescriptor::unlist() {
  if (!valid()) return;
  std::lock_guard lock(listed().mutex);
  auto found = listed().fds.find(fd());
  if (found != listed().fds.end()) listed().fds.erase(found);
}

void HostDescriptor::closeAllBut(int kept) {
  std::lock_guard lock(listed().mutex);
  for (int fd : listed().fds)
    if (fd != kept) ::close(fd);
  std::erase_if(listed().fds, [kept](int fd) { return fd != kept; });
}

}  // namespace wharf::net
