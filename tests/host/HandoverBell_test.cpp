#include "session/HandoverBell.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

using wharf::session::HandoverBell;

namespace {

bool readable(int fd) {
  pollfd ready{fd, POLLIN, 0};
  return ::poll(&ready, 1, 0) == 1 && (ready.revents & POLLIN) != 0;
}

}  // namespace

TEST(HandoverBell, RingsUntilSilencedAlsoForADescriptorMadeLater) {
  HandoverBell bell;
  bell.ring();  // before the plugin asked for the descriptor
  int fd = bell.fd();
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(readable(fd));
  bell.ring();  // twice is once: one silence quiets it
  bell.silence();
  EXPECT_FALSE(readable(fd));
  bell.ring();
  EXPECT_TRUE(readable(fd));
  EXPECT_EQ(bell.fd(), fd);  // made once
}

TEST(HandoverBell, NeverTouchesWhatTakesTheNumberAPluginClosed) {
  HandoverBell bell;
  int fd = bell.fd();
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::close(fd), 0);  // a hostile plugin closes the host's descriptor
  int other[2];
  ASSERT_EQ(::pipe(other), 0);
  int reused =
      other[0] == fd ? other[0] : ::dup2(other[0], fd);  // the number now names another pipe
  ASSERT_EQ(reused, fd);
  ASSERT_EQ(::write(other[1], "x", 1), 1);
  bell.silence();  // would drain `fd`: must not take the other pipe's byte
  EXPECT_TRUE(readable(fd));
  char byte = 0;
  ASSERT_EQ(::read(fd, &byte, 1), 1);
  EXPECT_EQ(byte, 'x');
  bell.ring();  // would write into `fd`'s pipe: must not
  EXPECT_FALSE(readable(fd));
  ::close(other[0]);
  ::close(other[1]);
  if (fd != other[0]) ::close(fd);
}
