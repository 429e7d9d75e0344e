#include "config/IniDocument.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "config/ConfigError.h"

using wharf::config::ConfigError;
using wharf::config::IniDocument;

namespace {

IniDocument parse(const std::string &text) {
  return IniDocument::parse("/etc/w.ini", text);
}

std::string errorOf(const std::string &text) {
  try {
    parse(text);
  } catch (const ConfigError &error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST(IniDocument, ReadsSectionsKeysAndLines) {
  IniDocument document = parse(
      "; top\n[host]\nplugin_dir = /p ; inline\n\n# hash\n[listener.a]\n"
      "listen=127.0.0.1:1\noption.greeting = hi there\n");
  ASSERT_EQ(document.sections.size(), 2u);
  EXPECT_EQ(document.sections[0].name, "host");
  EXPECT_EQ(document.sections[0].line, 2);
  ASSERT_EQ(document.sections[0].entries.size(), 1u);
  EXPECT_EQ(document.sections[0].entries[0].value, "/p");
  EXPECT_EQ(document.sections[0].entries[0].line, 3);
  EXPECT_EQ(document.sections[1].find("option.greeting")->value, "hi there");
  EXPECT_EQ(document.sections[1].find("listen")->value, "127.0.0.1:1");
}

TEST(IniDocument, KeepsSemicolonsInsideValues) {
  IniDocument document = parse("[s]\nk = a;b#c\n");
  EXPECT_EQ(document.sections[0].find("k")->value, "a;b#c");
}

TEST(IniDocument, RejectsDuplicateKeysWithBothLines) {
  EXPECT_EQ(errorOf("[s]\nk = 1\nk = 2\n"), "/etc/w.ini:3: [s] k: duplicate key (first at line 2)");
}

TEST(IniDocument, RejectsDuplicateSections) {
  EXPECT_EQ(errorOf("[s]\n[s]\n"), "/etc/w.ini:2: [s] duplicate section (first at line 1)");
}

TEST(IniDocument, RejectsSyntaxErrors) {
  EXPECT_EQ(errorOf("[s]\njust words\n"), "/etc/w.ini:2: expected 'key = value' or '[section]'");
  EXPECT_EQ(errorOf("k = v\n"), "/etc/w.ini:1: a key outside any [section]");
  EXPECT_EQ(errorOf("[s\n"), "/etc/w.ini:1: unterminated section");
}

TEST(IniDocument, NamesAnUnreadableFile) {
  try {
    IniDocument::read("/nonexistent/wharf.ini");
    FAIL();
  } catch (const ConfigError &error) {
    EXPECT_STREQ(error.what(),
                 "/nonexistent/wharf.ini: cannot open the file: No such file or directory");
  }
}

std::string readError(const std::string &path) {
  try {
    IniDocument::readText(path);
  } catch (const ConfigError &error) {
    return error.what();
  }
  return "read";
}

// /dev/zero grew wharfd to gigabytes and a FIFO blocked it for good, both
// deaf to SIGTERM: a config is a regular file of at most 16 MiB.
TEST(IniDocument, ReadsOnlyARegularFileOfBoundedSize) {
  EXPECT_EQ(readError("/dev/zero"), "/dev/zero: not a regular file");
  char folder[] = "/tmp/wharf-ini-XXXXXX";
  ASSERT_NE(::mkdtemp(folder), nullptr);
  std::string fifo = std::string(folder) + "/fifo", big = std::string(folder) + "/big.ini";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(readError(fifo), fifo + ": not a regular file");
  {
    std::ofstream out(big);
    out << std::string(IniDocument::kMaxFileSize + 1, ';');
  }
  EXPECT_EQ(readError(big), big + ": larger than 16 MiB");
  std::filesystem::remove_all(folder);
}
