#include "dispatch/HandoverLink.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "process/Base64.h"

using wharf::dispatch::HandoverLink;
using wharf::net::FileDescriptor;

namespace {

// Both ends of a link as the master makes them: the old worker's, the new worker's.
std::pair<FileDescriptor, FileDescriptor> linkEnds() {
  auto [a, b] = wharf::process::Channel::pair();
  return {a.release(), b.release()};
}

}  // namespace

TEST(HandoverLink, APackageArrivesWithItsDescriptorAndItsAnswerComesBack) {
  auto [oldEnd, newEnd] = linkEnds();
  int pipeEnds[2];
  ASSERT_EQ(::pipe(pipeEnds), 0);
  FileDescriptor readEnd(pipeEnds[0]);

  std::promise<Poco::JSON::Object::Ptr> answered;
  HandoverLink old(std::move(oldEnd));
  old.start([&answered](Poco::JSON::Object::Ptr answer, FileDescriptor) {
    if (answer) answered.set_value(answer);
  });
  auto adopting = std::make_shared<HandoverLink>(std::move(newEnd));
  adopting->start([&adopting](Poco::JSON::Object::Ptr package, FileDescriptor connection) {
    if (!package) return;
    // The descriptor is the session's connection: usable here.
    ASSERT_EQ(::write(connection.fd(), "hi", 2), 2);
    Poco::JSON::Object::Ptr answer = new Poco::JSON::Object;
    answer->set("id", package->getValue<int>("id"));
    answer->set("outcome", std::string("moved"));
    adopting->send(answer);
  });

  Poco::JSON::Object::Ptr package = new Poco::JSON::Object;
  package->set("id", 7);
  old.send(package, FileDescriptor(pipeEnds[1]));  // the link closes its copy once sent
  Poco::JSON::Object::Ptr answer = answered.get_future().get();
  EXPECT_EQ(answer->getValue<int>("id"), 7);
  EXPECT_EQ(answer->getValue<std::string>("outcome"), "moved");
  char got[2] = {};
  ASSERT_EQ(::read(readEnd.fd(), got, 2), 2);
  EXPECT_EQ(std::string(got, 2), "hi");
  adopting.reset();
}

TEST(HandoverLink, TheOtherEndLearnsOnceThatOneHasGone) {
  auto [oldEnd, newEnd] = linkEnds();
  std::promise<void> gone;
  int told = 0;
  HandoverLink old(std::move(oldEnd));
  old.start([&](Poco::JSON::Object::Ptr answer, FileDescriptor) {
    if (!answer && ++told == 1) gone.set_value();
  });
  {
    HandoverLink adopting(std::move(newEnd));
    adopting.start([](Poco::JSON::Object::Ptr, FileDescriptor) {});
  }
  gone.get_future().get();
  Poco::JSON::Object::Ptr late = new Poco::JSON::Object;
  old.send(late);  // the other end has gone: dropped, no error
  EXPECT_EQ(told, 1);
}

TEST(HandoverLink, SendsFromTheCallersThreadWhenTheOtherEndHasRoom) {
  // Not started: no sending thread. A moved session is frozen until its
  // package arrives, and waking a thread to send it cost up to 20 ms on a
  // busy core (bench/migration): the package is in the other end's buffer
  // once send returns.
  auto [oldEnd, newEnd] = linkEnds();
  HandoverLink old(std::move(oldEnd));
  Poco::JSON::Object::Ptr package = new Poco::JSON::Object;
  package->set("id", 3);
  old.send(package);
  char first = 0;
  EXPECT_EQ(::recv(newEnd.fd(), &first, 1, MSG_PEEK | MSG_DONTWAIT), 1);
  EXPECT_EQ(first, '{');
}

TEST(HandoverLink, ABatchTheOtherEndCannotHoldYetGoesWholeAndInOrder) {
  auto [oldEnd, newEnd] = linkEnds();
  HandoverLink old(std::move(oldEnd));
  old.start([](Poco::JSON::Object::Ptr, FileDescriptor) {});
  // More than the pair's buffer holds (net.core.wmem_max's double): what
  // does not fit now waits for the sending thread, behind what did.
  constexpr int kPackages = 1200;
  std::vector<HandoverLink::Outgoing> batch;
  for (int id = 0; id < kPackages; ++id) {
    Poco::JSON::Object::Ptr package = new Poco::JSON::Object;
    package->set("id", id);
    package->set("state", std::string(8192, 's'));
    batch.push_back({package, {}});
  }
  old.send(std::move(batch));
  Poco::JSON::Object::Ptr after = new Poco::JSON::Object;
  after->set("id", kPackages);
  old.send(after);  // queued behind the batch's rest, never past it

  std::promise<std::vector<int>> allArrived;
  std::vector<int> ids;
  HandoverLink adopting(std::move(newEnd));
  adopting.start([&](Poco::JSON::Object::Ptr package, FileDescriptor) {
    if (!package) return;
    ids.push_back(package->getValue<int>("id"));
    if (ids.size() == kPackages + 1) allArrived.set_value(ids);
  });
  std::vector<int> arrived = allArrived.get_future().get();
  for (int id = 0; id <= kPackages; ++id) ASSERT_EQ(arrived[static_cast<size_t>(id)], id);
}

TEST(Base64, BytesOfEveryKindRoundTrip) {
  std::string bytes;
  for (int i = 0; i < 256 * 3; ++i) bytes.push_back(static_cast<char>(i % 256));
  std::string encoded = wharf::process::encodeBase64(bytes.data(), bytes.size());
  EXPECT_EQ(encoded.find('\n'), std::string::npos);  // one JSON string, no line breaks
  EXPECT_EQ(wharf::process::decodeBase64(encoded), bytes);
  EXPECT_EQ(wharf::process::decodeBase64(wharf::process::encodeBase64("", 0)), "");
}
