#include "Users.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

using ftp::Users;

namespace {

// crypt(3) hashes of "pw": yescrypt (mkpasswd's default) and md5-crypt.
const std::string kAliceYescrypt =
    "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$U4SOHmDd8SvW5vCUKSMR6N835VPwFAtgYNhQ9mFFeL5";
const std::string kBobMd5 = "$1$wharf$IrdlWh5Rp2VMk1fYeRMSb.";

class UsersFile : public ::testing::Test {
 protected:
  Users load(const std::string &text) {
    std::ofstream(path_) << text;
    return Users::load(path_);
  }
  void TearDown() override { std::remove(path_.c_str()); }

  std::string path_ = ::testing::TempDir() + "wharf-users-" + std::to_string(::getpid());
};

}  // namespace

TEST_F(UsersFile, APasswordOpensItsOwnAccountOnly) {
  Users users = load("alice:" + kAliceYescrypt + ":home/alice:rw\nbob:" + kBobMd5 + ":pub:ro\n");
  auto alice = users.verify("alice", "pw");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->name, "alice");
  EXPECT_TRUE(alice->writable);
  EXPECT_FALSE(users.verify("alice", "pw2").has_value());
  EXPECT_FALSE(users.verify("bob", "").has_value());
}

// An unknown name is checked against a known account's hash, so it costs what
// that account's check costs. Its password matching that hash opens nothing.
TEST_F(UsersFile, AnUnknownNameCostsWhatAKnownOneDoes) {
  Users users = load("alice:" + kAliceYescrypt + ":home/alice:rw\nbob:" + kBobMd5 + ":pub:ro\n");
  EXPECT_EQ(users.hashFor("alice"), kAliceYescrypt);
  bool sawYescrypt = false, sawMd5 = false;
  for (int n = 0; n < 64; ++n) {
    std::string name = "mallory" + std::to_string(n);
    const std::string &standIn = users.hashFor(name);
    EXPECT_TRUE(standIn == kAliceYescrypt || standIn == kBobMd5) << name;
    EXPECT_EQ(&users.hashFor(name), &standIn) << "the same stand-in on every try";
    if (standIn == kBobMd5 || !sawYescrypt) {  // "pw" matches the stand-in, and opens nothing
      EXPECT_FALSE(users.verify(name, "pw").has_value()) << name;
    }
    (standIn == kAliceYescrypt ? sawYescrypt : sawMd5) = true;
  }
  EXPECT_TRUE(sawYescrypt && sawMd5) << "unknown names spread over the file's methods";
}

TEST_F(UsersFile, WithNoAccountEveryNameIsUnknown) {
  Users users = load("# nobody yet\n");
  EXPECT_TRUE(users.hashFor("alice").starts_with("$6$"));
  EXPECT_FALSE(users.verify("alice", "pw").has_value());
}

TEST_F(UsersFile, ABadLineIsNamedWithItsNumber) {
  try {
    load("alice:" + kBobMd5 + ":home/alice:rw\nbob:plain:pub:ro\n");
    FAIL() << "loaded a line without a crypt(3) hash";
  } catch (const std::invalid_argument &error) {
    EXPECT_NE(std::string(error.what()).find(path_ + ":2:"), std::string::npos) << error.what();
  }
}
