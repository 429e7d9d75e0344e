#include "listener/Admission.h"

#include <gtest/gtest.h>

#include "net/Endpoint.h"

using namespace wharf;
using listener::Admission;
using listener::Refusal;

namespace {

net::SocketAddress peer(const std::string &address) {
  return net::parseEndpoint(net::Transport::Tcp, address).address;
}

}  // namespace

TEST(Admission, CountsActiveAndTotalSessions) {
  Admission admission({});
  Refusal refusal{};
  {
    auto first = admission.admit(peer("127.0.0.1:1"), refusal);
    auto second = admission.admit(peer("127.0.0.1:2"), refusal);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(admission.active(), 2u);
  }
  EXPECT_EQ(admission.active(), 0u);
  EXPECT_EQ(admission.total(), 2u);
}

TEST(Admission, RefusesPastMaxConnectionsUntilOneEnds) {
  config::ListenerLimits limits;
  limits.maxConnections = 1;
  Admission admission(limits);
  Refusal refusal{};
  auto held = admission.admit(peer("127.0.0.1:1"), refusal);
  ASSERT_TRUE(held);
  EXPECT_FALSE(admission.admit(peer("127.0.0.2:1"), refusal));
  EXPECT_EQ(refusal, Refusal::MaxConnections);
  EXPECT_EQ(admission.refused(Refusal::MaxConnections), 1u);
  held.reset();
  EXPECT_TRUE(admission.admit(peer("127.0.0.2:1"), refusal));
}

TEST(Admission, LimitsEachSourceAddressSeparately) {
  config::ListenerLimits limits;
  limits.maxPerSource = 2;
  Admission admission(limits);
  Refusal refusal{};
  auto a1 = admission.admit(peer("192.0.2.1:1"), refusal);
  auto a2 = admission.admit(peer("192.0.2.1:2"), refusal);
  EXPECT_FALSE(admission.admit(peer("192.0.2.1:3"), refusal));
  EXPECT_EQ(refusal, Refusal::MaxPerSource);
  EXPECT_TRUE(admission.admit(peer("192.0.2.2:1"), refusal));
  a1.reset();
  EXPECT_TRUE(admission.admit(peer("192.0.2.1:4"), refusal));
}

TEST(Admission, CountsAnIpv6SourceByItsSlash64) {
  config::ListenerLimits limits;
  limits.maxPerSource = 2;
  Admission admission(limits);
  Refusal refusal{};
  auto a1 = admission.admit(peer("[2001:db8:0:1::1]:1"), refusal);
  auto a2 = admission.admit(peer("[2001:db8:0:1:ffff::2]:1"), refusal);
  ASSERT_TRUE(a1 && a2);
  EXPECT_FALSE(admission.admit(peer("[2001:db8:0:1::3]:1"), refusal));  // one host's /64
  EXPECT_EQ(refusal, Refusal::MaxPerSource);
  EXPECT_TRUE(admission.admit(peer("[2001:db8:0:2::1]:1"), refusal));  // the next /64
}

TEST(Admission, TheDefaultPerSourceLimitSparesLoopbackPeersOnly) {
  config::ListenerLimits limits;
  limits.maxPerSource = 1;
  limits.perSourceSparesLoopback = true;
  Admission admission(limits);
  Refusal refusal{};
  auto local1 = admission.admit(peer("127.0.0.1:1"), refusal);
  auto local2 = admission.admit(peer("[::1]:2"), refusal);
  auto local3 = admission.admit(peer("127.0.0.1:3"), refusal);
  EXPECT_TRUE(local1 && local2 && local3);
  auto remote = admission.admit(peer("192.0.2.1:1"), refusal);
  ASSERT_TRUE(remote);
  EXPECT_FALSE(admission.admit(peer("192.0.2.1:2"), refusal));
  limits.perSourceSparesLoopback = false;  // max_per_source set: loopback counts too
  Admission asked(limits);
  auto first = asked.admit(peer("127.0.0.1:1"), refusal);
  ASSERT_TRUE(first);
  EXPECT_FALSE(asked.admit(peer("127.0.0.1:2"), refusal));
}

TEST(Admission, DatagramRatePerSourceAndTheDefaultSparesLoopback) {
  config::ListenerLimits limits;
  limits.datagramRate = 2;
  limits.datagramRateSparesLoopback = true;
  Admission admission(limits);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(admission.withinDatagramRate(peer("127.0.0.1:1")));
  EXPECT_TRUE(admission.withinDatagramRate(peer("192.0.2.1:1")));
  EXPECT_TRUE(admission.withinDatagramRate(peer("192.0.2.1:2")));  // any port: one source
  EXPECT_FALSE(admission.withinDatagramRate(peer("192.0.2.1:3")));
  EXPECT_TRUE(admission.withinDatagramRate(peer("[2001:db8::1]:1")));
  EXPECT_TRUE(admission.withinDatagramRate(peer("[2001:db8::2]:1")));
  EXPECT_FALSE(admission.withinDatagramRate(peer("[2001:db8::3]:1")));  // the same /64
  limits.datagramRateSparesLoopback = false;  // datagram_rate set: loopback counts too
  Admission asked(limits);
  EXPECT_TRUE(asked.withinDatagramRate(peer("127.0.0.1:1")));
  EXPECT_TRUE(asked.withinDatagramRate(peer("127.0.0.1:1")));
  EXPECT_FALSE(asked.withinDatagramRate(peer("127.0.0.1:1")));
}

TEST(Admission, RefusesByAccessPolicy) {
  config::ListenerLimits limits;
  limits.deny.push_back(net::Cidr::parse("192.0.2.0/24"));
  Admission admission(limits);
  Refusal refusal{};
  EXPECT_FALSE(admission.admit(peer("192.0.2.1:1"), refusal));
  EXPECT_EQ(refusal, Refusal::Access);
  EXPECT_EQ(admission.active(), 0u);
}

TEST(Admission, AcceptRatePausesInsteadOfRefusing) {
  config::ListenerLimits limits;
  limits.acceptRate = 2;  // a burst of two, then a pause of about half a second
  Admission admission(limits);
  EXPECT_EQ(admission.acceptPause().count(), 0);
  EXPECT_EQ(admission.acceptPause().count(), 0) << "asking spends nothing";
  admission.spendAcceptToken();
  EXPECT_EQ(admission.acceptPause().count(), 0);
  admission.spendAcceptToken();
  auto pause = admission.acceptPause();
  EXPECT_GT(pause.count(), 0);
  EXPECT_LE(pause, std::chrono::milliseconds(500));
}
