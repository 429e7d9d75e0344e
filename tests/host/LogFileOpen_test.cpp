// The master's walk to a log file: links followed only where the workers'
// user cannot write, the last component opened as that user in its folders,
// and nothing but a regular file.
#include "logging/LogFileOpen.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>
#include <vector>

namespace wharf::logging {
namespace {

namespace fs = std::filesystem;

class LogFileOpen : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/wharf-logopen-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    fs::create_directory(root_ / "real");
  }
  void TearDown() override { fs::remove_all(root_); }

  // An account that is not this process's user (its files are not its own).
  static process::Account stranger() { return {"stranger", 64999, 64999, {64999}}; }
  // An isolated listener's workers' user.
  static process::Account other() { return {"other", 64998, 64998, {64998}}; }

  std::string failure(const fs::path &path, const std::vector<process::Account> &untrusted) {
    try {
      openLogFile(path, untrusted);
    } catch (const std::system_error &error) {
      return error.what();
    }
    return "";
  }

  fs::path root_;
};

TEST_F(LogFileOpen, CreatesAndAppendsARegularFile) {
  net::FileDescriptor file = openLogFile(root_ / "real" / "a.log", {});
  ASSERT_TRUE(file.valid());
  ASSERT_EQ(::write(file.fd(), "x\n", 2), 2);
  EXPECT_EQ(fs::file_size(root_ / "real" / "a.log"), 2u);
  struct stat status {};
  ASSERT_EQ(::stat((root_ / "real" / "a.log").c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777 & ~0640u, 0u);  // 0640 at most (the umask may take more)
}

TEST_F(LogFileOpen, FollowsLinksInFoldersTheWorkersCannotWrite) {
  fs::create_directory_symlink("real", root_ / "relative");
  fs::create_directory_symlink(root_ / "real", root_ / "absolute");
  process::Account workers = stranger();
  EXPECT_TRUE(openLogFile(root_ / "relative" / "b.log", {workers}).valid());
  EXPECT_TRUE(openLogFile(root_ / "absolute" / ".." / "real" / "c.log", {workers}).valid());
  EXPECT_TRUE(fs::exists(root_ / "real" / "b.log"));
  EXPECT_TRUE(fs::exists(root_ / "real" / "c.log"));
}

TEST_F(LogFileOpen, RefusesLinksInFoldersTheWorkersCanWrite) {
  process::Account workers = stranger();
  fs::permissions(root_ / "real", fs::perms::others_write, fs::perm_options::add);
  fs::create_symlink(root_ / "elsewhere.log", root_ / "real" / "d.log");
  EXPECT_NE(failure(root_ / "real" / "d.log", {workers})
                .find("d.log is a symbolic link in a folder stranger can write"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "elsewhere.log"));
  // Without another user to keep out (workers run as this process's), links are followed.
  EXPECT_TRUE(openLogFile(root_ / "real" / "d.log", {}).valid());
  EXPECT_TRUE(fs::exists(root_ / "elsewhere.log"));
}

TEST_F(LogFileOpen, AFolderTheWorkersOwnIsTheirsWhateverItsModeSays) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the folder is given to another user";
  // The owner chmods it to look safe after putting its link there.
  process::Account workers = stranger();
  fs::create_symlink(root_ / "elsewhere.log", root_ / "real" / "e.log");
  ASSERT_EQ(::chown((root_ / "real").c_str(), workers.uid, workers.gid), 0);
  ASSERT_EQ(::chmod((root_ / "real").c_str(), 0551), 0);
  EXPECT_NE(failure(root_ / "real" / "e.log", {workers})
                .find("e.log is a symbolic link in a folder stranger can write"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "elsewhere.log"));
}

TEST_F(LogFileOpen, RefusesALinkTheWorkersMadeWhereverItIs) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the link is given to another user";
  process::Account workers = stranger();
  fs::create_symlink(root_ / "real", root_ / "theirs");
  ASSERT_EQ(::lchown((root_ / "theirs").c_str(), workers.uid, workers.gid), 0);
  EXPECT_NE(failure(root_ / "theirs" / "f.log", {workers})
                .find("theirs is a symbolic link stranger made"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "real" / "f.log"));
}

TEST_F(LogFileOpen, SeveralWorkersUsersAreEachKeptOut) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: folders and links are given to other users";
  // A link the second user made, in a folder neither can write.
  fs::create_symlink(root_ / "real", root_ / "theirs");
  ASSERT_EQ(::lchown((root_ / "theirs").c_str(), other().uid, other().gid), 0);
  EXPECT_NE(failure(root_ / "theirs" / "g.log", {stranger(), other()})
                .find("theirs is a symbolic link other made"),
            std::string::npos);
  // A folder the second owns (the first may write it too): the file is made as its owner,
  // and a link either planted there is refused.
  fs::create_directory(root_ / "others");
  ASSERT_EQ(::chown((root_ / "others").c_str(), other().uid, other().gid), 0);
  fs::permissions(root_ / "others", fs::perms::others_write, fs::perm_options::add);
  ASSERT_TRUE(openLogFile(root_ / "others" / "h.log", {stranger(), other()}).valid());
  struct stat made {};
  ASSERT_EQ(::stat((root_ / "others" / "h.log").c_str(), &made), 0);
  EXPECT_EQ(made.st_uid, other().uid);
  fs::create_symlink(root_ / "elsewhere.log", root_ / "others" / "i.log");
  EXPECT_NE(failure(root_ / "others" / "i.log", {stranger(), other()})
                .find("i.log is a symbolic link in a folder other can write"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "elsewhere.log"));
}

TEST_F(LogFileOpen, RefusesLoopsFifosAndRelativePaths) {
  fs::create_symlink("two", root_ / "one");
  fs::create_symlink("one", root_ / "two");
  EXPECT_NE(failure(root_ / "one", {}).find("Too many levels of symbolic links"),
            std::string::npos);
  ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0600), 0);
  EXPECT_NE(failure(root_ / "fifo", {}).find("(not a regular file)"), std::string::npos);
  EXPECT_NE(failure("relative.log", {}).find("not an absolute path"), std::string::npos);
  fs::create_directory(root_ / "folder.log");
  EXPECT_FALSE(failure(root_ / "folder.log", {}).empty());
}

TEST(Account, MayWriteByOwnerGroupOrOthers) {
  process::Account account{"a", 1000, 100, {100, 4}};
  struct stat status {};
  status.st_uid = 1000;
  status.st_gid = 4;
  status.st_mode = S_IFDIR | 0500;  // an owner may chmod it: writable whatever the bits say
  EXPECT_TRUE(account.mayWrite(status));
  status.st_mode = S_IFDIR | 0570;
  status.st_uid = 0;
  EXPECT_TRUE(account.mayWrite(status));  // group 4 is one of its groups
  status.st_gid = 7;
  EXPECT_FALSE(account.mayWrite(status));
  status.st_mode = S_IFDIR | 0757;
  EXPECT_TRUE(account.mayWrite(status));
}

}  // namespace
}  // namespace wharf::logging
