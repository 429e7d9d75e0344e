#include "listener/AccessPolicy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "net/Endpoint.h"

using namespace wharf;

namespace {

net::SocketAddress peer(const std::string &address) {
  return net::parseEndpoint(net::Transport::Tcp, address).address;
}

listener::AccessPolicy policy(const std::vector<std::string> &allow,
                              const std::vector<std::string> &deny) {
  std::vector<net::Cidr> allowed, denied;
  for (const auto &text : allow) allowed.push_back(net::Cidr::parse(text));
  for (const auto &text : deny) denied.push_back(net::Cidr::parse(text));
  return listener::AccessPolicy(allowed, denied);
}

}  // namespace

TEST(AccessPolicy, AllowsEveryoneWithoutRules) {
  EXPECT_EQ(policy({}, {}).refusal(peer("203.0.113.9:1")), "");
}

TEST(AccessPolicy, MostSpecificRuleWins) {
  auto rules = policy({"10.0.0.0/8", "10.9.9.0/24"}, {"10.9.0.0/16"});
  EXPECT_EQ(rules.refusal(peer("10.1.2.3:1")), "");
  EXPECT_EQ(rules.refusal(peer("10.9.1.1:1")), "deny 10.9.0.0/16");
  EXPECT_EQ(rules.refusal(peer("10.9.9.9:1")), "");
  EXPECT_EQ(rules.refusal(peer("192.0.2.1:1")), "not in allow");
}

TEST(AccessPolicy, DenyWinsATieAndAloneDeniesOnlyItsNetwork) {
  EXPECT_EQ(policy({"10.0.0.0/8"}, {"10.0.0.0/8"}).refusal(peer("10.0.0.1:1")), "deny 10.0.0.0/8");
  auto denyOnly = policy({}, {"192.0.2.7"});
  EXPECT_EQ(denyOnly.refusal(peer("192.0.2.7:1")), "deny 192.0.2.7");
  EXPECT_EQ(denyOnly.refusal(peer("192.0.2.8:1")), "");
}

TEST(AccessPolicy, MatchesIpv6AndIpv4MappedPeers) {
  auto rules = policy({"::1", "127.0.0.0/8"}, {});
  EXPECT_EQ(rules.refusal(peer("[::1]:1")), "");
  EXPECT_EQ(rules.refusal(peer("[::ffff:127.0.0.1]:1")), "");
  EXPECT_EQ(rules.refusal(peer("[2001:db8::1]:1")), "not in allow");
}

TEST(AccessPolicy, OddPrefixLengths) {
  auto rules = policy({"192.0.2.128/25"}, {});
  EXPECT_EQ(rules.refusal(peer("192.0.2.200:1")), "");
  EXPECT_EQ(rules.refusal(peer("192.0.2.100:1")), "not in allow");
}
