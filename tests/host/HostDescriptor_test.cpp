#include "net/HostDescriptor.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "ForkedChild.h"

using wharf::net::FileDescriptor;
using wharf::net::HostDescriptor;

namespace {

int anEventFd() {
  return ::eventfd(0, EFD_CLOEXEC);
}

bool isOpen(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

}  // namespace

TEST(HostDescriptor, AForkedChildClosesEveryListedOneButTheKeptOne) {
  HostDescriptor kept(anEventFd());
  HostDescriptor closed(anEventFd());
  FileDescriptor unlisted(anEventFd());
  ASSERT_TRUE(kept.valid() && closed.valid() && unlisted.valid());
  EXPECT_TRUE(inForkedChild([&] {
    HostDescriptor::closeAllBut(kept.fd());
    return isOpen(kept.fd()) && !isOpen(closed.fd()) && isOpen(unlisted.fd());
  }));
  EXPECT_TRUE(isOpen(kept.fd()) && isOpen(closed.fd()));  // the parent's are its own
}

TEST(HostDescriptor, ANumberClosedAndReusedIsNotListedAnyMore) {
  int number;
  {
    HostDescriptor gone(anEventFd());
    number = gone.fd();
  }
  FileDescriptor reused(anEventFd());  // the lowest free number: the one just closed
  ASSERT_EQ(reused.fd(), number);
  EXPECT_TRUE(inForkedChild([&] {
    HostDescriptor::closeAllBut(-1);
    return isOpen(reused.fd());
  }));
}

TEST(HostDescriptor, MovedOrReleasedItStaysListedOnceOrNotAtAll) {
  HostDescriptor first(anEventFd());
  HostDescriptor moved(std::move(first));
  HostDescriptor assigned;
  assigned = std::move(moved);
  HostDescriptor releasing(anEventFd());
  FileDescriptor released = releasing.release();
  EXPECT_FALSE(first.valid());
  EXPECT_FALSE(releasing.valid());
  EXPECT_TRUE(inForkedChild([&] {
    HostDescriptor::closeAllBut(-1);
    return !isOpen(assigned.fd()) && isOpen(released.fd());
  }));
}

// A child forked while another thread lists and unlists descriptors still
// finds the list free (a worker forks its helpers before it starts threads,
// but the list does not rely on that); a child that did not is ended by its
// alarm.
TEST(HostDescriptor, AChildForkedWhileAnotherThreadListsFindsTheListFree) {
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    while (!stop.load(std::memory_order_relaxed)) HostDescriptor listedForAMoment(anEventFd());
  });
  int stuck = 0;
  for (int fork = 0; fork < 200; ++fork) {
    if (!inForkedChild([] {
          ::alarm(10);
          HostDescriptor::closeAllBut(-1);
          return true;
        }))
      ++stuck;
  }
  stop = true;
  churn.join();
  EXPECT_EQ(stuck, 0) << "children that could not take the list's lock";
}
