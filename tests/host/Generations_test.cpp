// A listener's plugin generations: the current one is what new sessions pin;
// retired ones live while pinned, and are cut past drain_timeout or beyond
// max_generations. PluginSet loads a file again only when it was replaced.
#include "listener/Generations.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "plugin/PluginSet.h"

using namespace wharf;
using namespace std::chrono_literals;

namespace {

std::string fixture(const std::string &name) {
  return std::string(WHARF_TEST_PLUGIN_DIR) + "/" + name + ".so";
}

config::ListenerConfig listenerConfig() {
  config::ListenerConfig config;
  config.name = "g";
  config.endpoint = net::parseEndpoint(net::Transport::Tcp, "127.0.0.1:1");
  return config;
}

listener::GenerationPtr generation(uint64_t number) {
  return std::make_shared<listener::Generation>(
      number,
      std::make_unique<plugin::PluginInstance>(plugin::Plugin::load(fixture("versioned_v1")),
                                               listenerConfig()),
      session::Style::Event);
}

// A session that only records being cut.
struct FakeSession : session::Cuttable {
  void cut(wharf::session::CutReason) override { ++cuts; }
  int cuts = 0;
};

const listener::DrainLimits kRoomy{1h, 4};

}  // namespace

TEST(Generations, NoneIsCurrentUntilTheFirstIsInstalled) {
  listener::Generations generations;
  EXPECT_EQ(generations.current(), nullptr);
  EXPECT_EQ(generations.loaded().size(), 0u);
  EXPECT_EQ(generations.cutAll(wharf::session::CutReason::Shutdown), 0u);
  generations.install(generation(1), kRoomy);
  EXPECT_EQ(generations.current()->number(), 1u);
  EXPECT_EQ(generations.loaded().size(), 1u);
}

TEST(Generations, NewSessionsPinTheCurrentOneAndOldOnesLiveWhilePinned) {
  listener::Generations generations;
  generations.install(generation(1), kRoomy);
  listener::GenerationPtr pinned = generations.current();
  generations.install(generation(2), kRoomy);
  EXPECT_EQ(generations.current()->number(), 2u);
  EXPECT_EQ(generations.loaded().size(), 2u);
  std::weak_ptr<listener::Generation> old = pinned;
  pinned.reset();  // its last session ends
  EXPECT_TRUE(old.expired());
  generations.enforce(kRoomy);
  EXPECT_EQ(generations.loaded().size(), 1u);
}

TEST(Generations, AnUnpinnedGenerationGoesAtOnce) {
  listener::Generations generations;
  generations.install(generation(1), kRoomy);
  std::weak_ptr<listener::Generation> first = generations.current();
  generations.install(generation(2), kRoomy);
  EXPECT_TRUE(first.expired());
}

// Generation 1, with one session, retired by generation 2, with another.
class RetiredAndCurrent : public ::testing::Test {
 protected:
  listener::Generations generations;
  bool first = (generations.install(generation(1), kRoomy), true);
  listener::GenerationPtr old = generations.current();
  FakeSession onOld, onNew;
  session::LiveSessions::Entry oldEntry{old->live(), onOld};
  bool installed = (generations.install(generation(2), kRoomy), true);
  session::LiveSessions::Entry newEntry{generations.current()->live(), onNew};
};

TEST_F(RetiredAndCurrent, DrainTimeoutCutsTheSessionsOfRetiredGenerationsOnly) {
  generations.enforce(kRoomy);
  EXPECT_EQ(onOld.cuts, 0);
  generations.enforce({0ms, 4});
  EXPECT_EQ(onOld.cuts, 1);
  EXPECT_EQ(onNew.cuts, 0);
  generations.enforce({0ms, 4});
  EXPECT_EQ(onOld.cuts, 1) << "cut once";
}

TEST_F(RetiredAndCurrent, CutAllReachesEveryGeneration) {
  EXPECT_EQ(generations.cutAll(wharf::session::CutReason::Shutdown), 2u);
  EXPECT_EQ(onOld.cuts + onNew.cuts, 2);
}

TEST(Generations, MaxGenerationsCutsTheOldestBeyondTheCap) {
  listener::Generations generations;
  generations.install(generation(1), kRoomy);
  listener::GenerationPtr first = generations.current();
  FakeSession onFirst, onSecond;
  session::LiveSessions::Entry firstEntry(first->live(), onFirst);
  generations.install(generation(2), {1h, 3});
  listener::GenerationPtr second = generations.current();
  session::LiveSessions::Entry secondEntry(second->live(), onSecond);
  generations.install(generation(3), {1h, 3});
  EXPECT_EQ(onFirst.cuts, 0) << "three loaded: within the cap";
  listener::GenerationPtr third = generations.current();
  generations.install(generation(4), {1h, 3});
  EXPECT_EQ(onFirst.cuts, 1) << "four loaded: the oldest goes";
  EXPECT_EQ(onSecond.cuts, 0);
}

TEST(PluginSet, LoadsAFileOnceUntilItIsReplaced) {
  auto directory =
      std::filesystem::temp_directory_path() / ("wharf-pluginset-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  auto file = directory / "p.so";
  std::filesystem::copy_file(fixture("versioned_v1"), file);
  plugin::PluginSet plugins;
  auto first = plugins.get(file);
  EXPECT_EQ(plugins.get(file), first) << "unchanged: the same load";
  std::filesystem::copy_file(fixture("versioned_v2"), directory / "p.so.new");
  std::filesystem::rename(directory / "p.so.new", file);
  auto second = plugins.get(file);
  EXPECT_NE(second, first);
  EXPECT_EQ(second->version(), "2.0.0");
  std::filesystem::remove_all(directory);
}
