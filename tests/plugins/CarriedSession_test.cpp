#include "CarriedSession.h"

#include <gtest/gtest.h>

#include <climits>
#include <string>
#include <vector>

using ftp::CarriedSession;

namespace {

// Every field away from its default.
CarriedSession everything() {
  CarriedSession state;
  state.login = CarriedSession::Login::Account;
  state.account = "alice";
  state.pendingUser = "bob";
  state.failures = 2;
  state.cwd = "/docs/2026 reports";
  state.ascii = true;
  state.facts = 5;
  state.restart = 1234567890123;
  state.renameFrom = "/docs/old name.txt";
  state.epsvOnly = true;
  state.pbszGiven = true;
  state.protectData = true;
  state.idleMs = 42000;
  state.unread = {"NO", true, ftp::TelnetFilter::State::Option};
  return state;
}

std::optional<CarriedSession> decode(const std::string &bytes) {
  return CarriedSession::decode({reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()});
}

// Where the pending-USER flag is in `state`'s encoding: after the format (2),
// the login (1) and the account name (4 + its length).
size_t pendingFlagAt(const CarriedSession &state) {
  return 2 + 1 + 4 + state.account.size();
}

}  // namespace

TEST(CarriedSession, EveryFieldComesBackAsItWent) {
  auto back = decode(everything().encode());
  ASSERT_TRUE(back.has_value());
  CarriedSession sent = everything();
  EXPECT_EQ(back->login, sent.login);
  EXPECT_EQ(back->account, sent.account);
  EXPECT_EQ(back->pendingUser, sent.pendingUser);
  EXPECT_EQ(back->failures, sent.failures);
  EXPECT_EQ(back->cwd, sent.cwd);
  EXPECT_EQ(back->ascii, sent.ascii);
  EXPECT_EQ(back->facts, sent.facts);
  EXPECT_EQ(back->restart, sent.restart);
  EXPECT_EQ(back->renameFrom, sent.renameFrom);
  EXPECT_EQ(back->epsvOnly, sent.epsvOnly);
  EXPECT_EQ(back->pbszGiven, sent.pbszGiven);
  EXPECT_EQ(back->protectData, sent.protectData);
  EXPECT_EQ(back->idleMs, sent.idleMs);
  EXPECT_EQ(back->unread.input, sent.unread.input);
  EXPECT_EQ(back->unread.discarding, sent.unread.discarding);
  EXPECT_EQ(back->unread.telnet, sent.unread.telnet);
}

TEST(CarriedSession, ASessionBeforeLoginComesBackWithoutOne) {
  auto back = decode(CarriedSession().encode());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->login, CarriedSession::Login::None);
  EXPECT_FALSE(back->pendingUser.has_value());
  EXPECT_FALSE(back->renameFrom.has_value());
  EXPECT_EQ(back->cwd, "/");
}

TEST(CarriedSession, EveryTruncationAndAnyByteMoreIsRefused) {
  std::string bytes = everything().encode();
  for (size_t length = 0; length < bytes.size(); ++length)
    EXPECT_FALSE(decode(bytes.substr(0, length)).has_value()) << "cut at " << length;
  EXPECT_FALSE(decode(bytes + '\0').has_value());
}

TEST(CarriedSession, AnotherFormatIsRefused) {
  std::string bytes = everything().encode();
  bytes[0] = 2;
  EXPECT_FALSE(decode(bytes).has_value());
}

TEST(CarriedSession, OversizedStatesAndStringsAreRefused) {
  EXPECT_FALSE(decode(std::string(CarriedSession::kMaxSize + 1, '\0')).has_value());
  CarriedSession longName = everything();
  longName.account = std::string(CarriedSession::kMaxString + 1, 'a');
  EXPECT_FALSE(decode(longName.encode()).has_value());
  CarriedSession longInput = everything();
  longInput.unread.input = std::string(ftp::Control::kMaxLine + 1, 'x');
  EXPECT_FALSE(decode(longInput.encode()).has_value());
  // A length that claims more than there is (4 GiB): refused, nothing allocated.
  std::string bytes = everything().encode();
  for (size_t i = 3; i < 7; ++i) bytes[i] = '\xff';
  EXPECT_FALSE(decode(bytes).has_value());
}

TEST(CarriedSession, ValuesNoSessionCouldHoldAreRefused) {
  auto refused = [](const char *what, auto change) {
    CarriedSession state = everything();
    change(state);
    EXPECT_FALSE(decode(state.encode()).has_value()) << what;
  };
  refused("a login kind past anonymous", [](auto &s) { s.login = CarriedSession::Login{3}; });
  refused("an account without a name", [](auto &s) { s.account.clear(); });
  refused("a name with a control character", [](auto &s) { s.account = "al\nice"; });
  refused("a name that is not UTF-8", [](auto &s) { s.account = "al\xffice"; });
  refused("an empty pending USER", [](auto &s) { s.pendingUser = ""; });
  refused("a relative folder", [](auto &s) { s.cwd = "docs"; });
  refused("a folder with ..", [](auto &s) { s.cwd = "/docs/../.."; });
  refused("a folder with an empty component", [](auto &s) { s.cwd = "/docs//x"; });
  refused("a folder with a trailing slash", [](auto &s) { s.cwd = "/docs/"; });
  refused("a rename source with ..", [](auto &s) { s.renameFrom = "/../etc/passwd"; });
  refused("facts no server has", [](auto &s) { s.facts = 32; });
  refused("a REST offset past off_t", [](auto &s) { s.restart = uint64_t{INT64_MAX} + 1; });
  refused("PROT P without PBSZ", [](auto &s) { s.pbszGiven = false; });
  refused("a Telnet state past Option",
          [](auto &s) { s.unread.telnet = ftp::TelnetFilter::State{3}; });
}

TEST(CarriedSession, ANameWithoutALoginIsRefused) {
  std::string bytes = everything().encode();
  ASSERT_EQ(bytes[2], static_cast<char>(CarriedSession::Login::Account));
  bytes[2] = static_cast<char>(CarriedSession::Login::None);
  EXPECT_FALSE(decode(bytes).has_value());
  bytes[2] = static_cast<char>(CarriedSession::Login::Anonymous);
  EXPECT_FALSE(decode(bytes).has_value());
}

TEST(CarriedSession, AFlagOtherThanZeroOrOneIsRefused) {
  CarriedSession state = everything();
  std::string bytes = state.encode();
  bytes[pendingFlagAt(state)] = 2;
  EXPECT_FALSE(decode(bytes).has_value());
  // An absent string that has bytes all the same.
  CarriedSession none = everything();
  none.pendingUser.reset();
  std::string absent = none.encode();
  size_t flag = pendingFlagAt(none);
  ASSERT_EQ(absent[flag], 0);
  std::string withText =
      absent.substr(0, flag + 1) + std::string("\x01\0\0\0x", 5) + absent.substr(flag + 5);
  EXPECT_FALSE(decode(withText).has_value());
}
