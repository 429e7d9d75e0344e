#include "FilePipe.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

using ftp::FilePipe;

namespace {

// A file of `size` bytes, each its offset's low byte, already unlinked.
int fileOf(size_t size) {
  char name[] = "/tmp/wharf-filepipe-XXXXXX";
  int file = ::mkstemp(name);
  ::unlink(name);
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i & 0xff);
  EXPECT_EQ(::write(file, bytes.data(), size), static_cast<ssize_t>(size));
  return file;
}

std::string readAll(int socket) {
  std::string got;
  char chunk[65536];
  ssize_t n;
  while ((n = ::read(socket, chunk, sizeof chunk)) > 0) got.append(chunk, static_cast<size_t>(n));
  return got;
}

}  // namespace

TEST(FilePipe, MovesTheFileFromItsOffsetToTheSocketAndSaysWhereItEnds) {
  const size_t size = 3 * 1024 * 1024 + 17;  // more than one pipe's worth
  int file = fileOf(size);
  int ends[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends), 0);
  int big = 4 << 20;
  ::setsockopt(ends[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  auto pipe = FilePipe::make();
  ASSERT_TRUE(pipe);
  off_t offset = 1000;
  size_t sent = 0;
  std::string got;
  for (;;) {
    if (pipe->held() == 0) {
      ssize_t taken = pipe->fill(file, offset, size - static_cast<size_t>(offset) + 1);
      ASSERT_GE(taken, 0) << std::strerror(errno);
      if (taken == 0) break;
    }
    ssize_t moved = pipe->drain(ends[0]);
    ASSERT_GT(moved, 0) << std::strerror(errno);
    sent += static_cast<size_t>(moved);
    char chunk[65536];
    for (ssize_t n; (n = ::recv(ends[1], chunk, sizeof chunk, MSG_DONTWAIT)) > 0;)
      got.append(chunk, static_cast<size_t>(n));
  }
  ::shutdown(ends[0], SHUT_WR);
  got += readAll(ends[1]);
  EXPECT_EQ(offset, static_cast<off_t>(size));
  EXPECT_EQ(sent, size - 1000);
  ASSERT_EQ(got.size(), size - 1000);
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(static_cast<unsigned char>(got[i]), (i + 1000) & 0xff) << "at " << i;
  ::close(file);
  ::close(ends[0]);
  ::close(ends[1]);
}

TEST(FilePipe, AFullSocketKeepsTheBytesInThePipeForTheNextDrain) {
  const size_t size = 1 << 20;
  int file = fileOf(size);
  int ends[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, ends), 0);
  auto pipe = FilePipe::make();
  ASSERT_TRUE(pipe);
  off_t offset = 0;
  ASSERT_GT(pipe->fill(file, offset, size), 0);
  size_t held = pipe->held();
  ssize_t first = pipe->drain(ends[0]);  // the reader reads nothing yet
  ASSERT_GT(first, 0);
  ASSERT_LT(static_cast<size_t>(first), held);
  EXPECT_EQ(pipe->drain(ends[0]), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(pipe->held(), held - static_cast<size_t>(first));
  std::string got;
  while (got.size() < held) {
    char chunk[65536];
    ssize_t n = ::recv(ends[1], chunk, sizeof chunk, 0);
    if (n > 0) got.append(chunk, static_cast<size_t>(n));
    if (pipe->held() > 0) pipe->drain(ends[0]);
  }
  EXPECT_EQ(pipe->held(), 0u);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(static_cast<unsigned char>(got[i]), i & 0xff);
  ::close(file);
  ::close(ends[0]);
  ::close(ends[1]);
}
