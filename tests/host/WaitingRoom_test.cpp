#include "dispatch/WaitingRoom.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

using namespace wharf;
using dispatch::PendingSession;
using dispatch::WaitingRoom;

namespace {

// A connected pair: the session's end (`server`) waits in the room, the test
// speaks for its peer.
struct Pair {
  net::FileDescriptor server, peer;
};

Pair connectedPair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  return {net::FileDescriptor(fds[0]), net::FileDescriptor(fds[1])};
}

dispatch::PendingSessionPtr sessionOn(net::FileDescriptor socket) {
  return std::make_shared<PendingSession>(PendingSession{
      nullptr, net::SocketAddress(), std::move(socket), {}, std::nullopt, {}, {}, nullptr});
}

const WaitingRoom::Clock::time_point kStart{};
const auto kSecond = std::chrono::seconds(1);

}  // namespace

TEST(WaitingRoom, HandsOverOnlyTheSessionsWhosePeerSpokeOrClosed) {
  Pair listening = connectedPair();  // stands in for the listening socket
  WaitingRoom room(listening.server.fd());
  Pair quiet = connectedPair(), talker = connectedPair(), leaver = connectedPair();
  int talkerFd = talker.server.fd();
  room.add(sessionOn(std::move(quiet.server)), kStart + kSecond);
  room.add(sessionOn(std::move(talker.server)), kStart + kSecond);
  room.add(sessionOn(std::move(leaver.server)), kStart + kSecond);

  EXPECT_TRUE(room.takeReady().spoke.empty());
  ASSERT_EQ(::write(talker.peer.fd(), "x", 1), 1);
  leaver.peer = net::FileDescriptor();  // closes
  WaitingRoom::Ready ready = room.takeReady();
  EXPECT_FALSE(ready.listening);
  ASSERT_EQ(ready.spoke.size(), 2u);
  EXPECT_TRUE(ready.spoke[0]->connection.fd() == talkerFd ||
              ready.spoke[1]->connection.fd() == talkerFd);
  EXPECT_EQ(room.size(), 1u);

  ASSERT_EQ(::write(listening.peer.fd(), "x", 1), 1);
  EXPECT_TRUE(room.takeReady().listening);
}

TEST(WaitingRoom, ClosesTheSilentAtTheirDeadlineInArrivalOrder) {
  Pair listening = connectedPair();
  WaitingRoom room(listening.server.fd());
  Pair first = connectedPair(), second = connectedPair();
  room.add(sessionOn(std::move(first.server)), kStart + kSecond);
  room.add(sessionOn(std::move(second.server)), kStart + 2 * kSecond);
  EXPECT_EQ(room.untilNextDeadline(kStart), std::chrono::milliseconds(1000));
  EXPECT_EQ(room.takeExpired(kStart + kSecond).size(), 1u);
  char byte;
  EXPECT_EQ(::read(first.peer.fd(), &byte, 1), 0);  // its connection was closed
  EXPECT_EQ(room.size(), 1u);
  EXPECT_EQ(room.takeExpired(kStart + 2 * kSecond).size(), 1u);
  EXPECT_EQ(room.untilNextDeadline(kStart), std::chrono::milliseconds(-1));
}

TEST(WaitingRoom, ADescriptorNumberReusedByALaterArrivalKeepsItsOwnDeadline) {
  Pair listening = connectedPair();
  WaitingRoom room(listening.server.fd());
  Pair early = connectedPair();
  int number = early.server.fd();
  room.add(sessionOn(std::move(early.server)), kStart + kSecond);
  ASSERT_EQ(::write(early.peer.fd(), "x", 1), 1);
  ASSERT_EQ(room.takeReady().spoke.size(), 1u);  // left the room; its descriptor closes

  Pair late = connectedPair();
  if (late.server.fd() != number) std::swap(late.server, late.peer);
  ASSERT_EQ(late.server.fd(), number);  // the lowest free number comes back
  room.add(sessionOn(std::move(late.server)), kStart + 5 * kSecond);
  EXPECT_EQ(room.takeExpired(kStart + kSecond).size(), 0u);  // the early one's deadline is not its
  EXPECT_EQ(room.size(), 1u);
  EXPECT_EQ(room.takeExpired(kStart + 5 * kSecond).size(), 1u);
}
