// Plugin::load refuses each broken fixture plugin by file name and reason.
#include <gtest/gtest.h>

#include <fstream>

#include "plugin/Plugin.h"
#include "plugin/PluginError.h"

using wharf::plugin::Plugin;
using wharf::plugin::PluginError;

namespace {

std::string fixture(const std::string &name) {
  return std::string(WHARF_TEST_PLUGIN_DIR) + "/" + name + ".so";
}

std::string refusal(const std::string &file) {
  try {
    Plugin::load(file);
  } catch (const PluginError &error) {
    return error.what();
  }
  return "loaded";
}

}  // namespace

TEST(PluginLoading, LoadsTheEchoPluginAndReadsItsDescriptor) {
  auto plugin = Plugin::load(std::string(WHARF_SHIPPED_PLUGIN_DIR) + "/echo.so");
  EXPECT_EQ(plugin->name(), "echo");
  EXPECT_EQ(plugin->version(), "1.0.0");
  EXPECT_TRUE(plugin->has(WHARF_CAP_EVENT));
  EXPECT_FALSE(plugin->has(WHARF_CAP_BLOCKING));
}

TEST(PluginLoading, TwoLoadsOfOneFileAreIndependentCopies) {
  auto first = Plugin::load(fixture("blocking_echo"));
  auto second = Plugin::load(fixture("blocking_echo"));
  EXPECT_NE(first->hooks().serve, second->hooks().serve);
}

TEST(PluginLoading, RefusesAMissingFile) {
  EXPECT_EQ(refusal("/nonexistent/gone.so"), "plugin /nonexistent/gone.so: no such file");
}

TEST(PluginLoading, RefusesAFileThatIsNotASharedObject) {
  std::string path = testing::TempDir() + "/not_elf.so";
  std::ofstream(path) << "#!/bin/sh\necho I am not a library\n";
  std::string message = refusal(path);
  EXPECT_TRUE(message.starts_with("plugin " + path + ": not a loadable shared object ("))
      << message;
  EXPECT_EQ(message.find("/proc/self/fd"), std::string::npos) << message;
}

TEST(PluginLoading, RefusesASharedObjectWithoutTheEntrySymbol) {
  EXPECT_EQ(
      refusal(fixture("no_entry")),
      "plugin " + fixture("no_entry") + ": no entry symbol wharf_plugin_entry: not a Wharf plugin");
}

TEST(PluginLoading, RefusesAnotherMajor) {
  EXPECT_EQ(refusal(fixture("abi_major_mismatch")),
            "plugin " + fixture("abi_major_mismatch") + ": built for Wharf ABI 2." +
                std::to_string(WHARF_ABI_MINOR) + ", this host speaks ABI major 1");
}

TEST(PluginLoading, RefusesANewerMinorByName) {
  EXPECT_EQ(refusal(fixture("abi_minor_newer")),
            "plugin " + fixture("abi_minor_newer") + ": needs Wharf ABI 1." +
                std::to_string(WHARF_ABI_MINOR + 1) + ", this host offers 1." +
                std::to_string(WHARF_ABI_MINOR) + ": upgrade wharfd");
}

TEST(PluginLoading, RefusesABadMagic) {
  EXPECT_EQ(refusal(fixture("bad_magic")),
            "plugin " + fixture("bad_magic") +
                ": bad magic in the plugin descriptor: not a Wharf plugin");
}

TEST(PluginLoading, RefusesAnEntryThatDeclines) {
  EXPECT_EQ(refusal(fixture("entry_returns_null")),
            "plugin " + fixture("entry_returns_null") +
                ": wharf_plugin_entry returned NULL (the plugin refused to load)");
}

TEST(PluginLoading, RefusesAFailedInitWithThePluginsOwnMessage) {
  EXPECT_EQ(refusal(fixture("load_fails")),
            "plugin " + fixture("load_fails") +
                ": 'load-fails' failed to initialise: licence file /nonexistent/licence missing");
}

TEST(PluginLoading, RefusesAStyleWithoutItsHooks) {
  EXPECT_EQ(refusal(fixture("no_style")),
            "plugin " + fixture("no_style") + ": declares WHARF_CAP_BLOCKING without a serve hook");
}
