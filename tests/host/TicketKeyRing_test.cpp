#include "master/TicketKeyRing.h"

#include <gtest/gtest.h>

#include <stdexcept>

using wharf::master::TicketKeyRing;
using wharf::tls::decodeTicketKeys;
using wharf::tls::TicketKey;

namespace {

wharf::config::Config configOf(std::vector<std::pair<std::string, bool>> tlsListeners) {
  wharf::config::Config config;
  for (const auto &[name, tickets] : tlsListeners) {
    wharf::config::ListenerConfig listener;
    listener.name = name;
    listener.tls.enabled = true;
    listener.tls.tickets = tickets;
    config.listeners.push_back(listener);
  }
  wharf::config::ListenerConfig plain;
  plain.name = "plain";
  config.listeners.push_back(plain);
  return config;
}

std::vector<TicketKey> keysOf(const TicketKeyRing &ring, const std::string &listener) {
  return decodeTicketKeys(ring.passedForm(listener));
}

}  // namespace

TEST(TicketKeyRing, AListenerWithTicketsHasThreeKeysOfItsOwn) {
  TicketKeyRing ring;
  ring.follow(configOf({{"a", true}, {"b", true}, {"off", false}}));
  auto a = keysOf(ring, "a"), b = keysOf(ring, "b");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_NE(a[0], a[1]);
  EXPECT_NE(a[0], b[0]);
  EXPECT_EQ(ring.passedForm("off"), "");
  EXPECT_EQ(ring.passedForm("plain"), "");
}

TEST(TicketKeyRing, ARotationSealsWithTheNextKeyAndDropsThePrevious) {
  TicketKeyRing ring;
  ring.follow(configOf({{"a", true}}));
  auto before = keysOf(ring, "a");                            // current, next, previous
  EXPECT_EQ(ring.rotate(false), std::vector<std::string>{});  // 12 hours away
  EXPECT_EQ(ring.rotate(true), std::vector<std::string>{"a"});
  auto after = keysOf(ring, "a");
  EXPECT_EQ(after[0], before[1]);
  EXPECT_EQ(after[2], before[0]);
  EXPECT_NE(after[1], before[2]);
  ring.rotate(true);
  auto twice = keysOf(ring, "a");
  for (const TicketKey &key : twice) EXPECT_NE(key, before[0]);
}

TEST(TicketKeyRing, AReloadKeepsTheKeysOfTheListenersItKeeps) {
  TicketKeyRing ring;
  ring.follow(configOf({{"a", true}, {"b", true}}));
  auto a = ring.passedForm("a");
  ring.follow(configOf({{"a", true}, {"b", false}, {"c", true}}));
  EXPECT_EQ(ring.passedForm("a"), a);
  EXPECT_EQ(ring.passedForm("b"), "");
  EXPECT_EQ(keysOf(ring, "c").size(), 3u);
}

TEST(TicketKeyRing, AnUpgradeTakesTheKeysOver) {
  TicketKeyRing ring;
  ring.follow(configOf({{"a", true}, {"b", true}}));
  ring.rotate(true);
  TicketKeyRing next;
  next.takeOver(ring.handOver());
  next.follow(configOf({{"a", true}, {"b", true}}));
  EXPECT_EQ(next.passedForm("a"), ring.passedForm("a"));
  EXPECT_EQ(next.passedForm("b"), ring.passedForm("b"));
  EXPECT_EQ(next.rotate(false), std::vector<std::string>{});  // its schedule too
  EXPECT_THROW(next.takeOver(ring.handOver().substr(0, 100)), std::invalid_argument);
  EXPECT_THROW(decodeTicketKeys(std::string(81, 'k')), std::invalid_argument);
}
