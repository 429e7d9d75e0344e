#include <gtest/gtest.h>

#include "master/WorkerSet.h"

using wharf::master::WorkerGroup;
using wharf::master::workerGroupsOf;

namespace {

wharf::config::Config configOf(std::vector<std::pair<std::string, bool>> listeners) {
  wharf::config::Config config;
  for (const auto &[name, isolate] : listeners) {
    wharf::config::ListenerConfig listener;
    listener.name = name;
    listener.isolate = isolate;
    config.listeners.push_back(listener);
  }
  return config;
}

}  // namespace

TEST(WorkerGroups, SharedListenersFormMainAndEachIsolatedOneItsOwn) {
  auto groups = workerGroupsOf(configOf({{"a", false}, {"x", true}, {"b", false}, {"y", true}}));
  std::vector<WorkerGroup> expected = {
      {"main", {"a", "b"}, {}}, {"x", {"x"}, {}}, {"y", {"y"}, {}}};
  EXPECT_EQ(groups, expected);
}

TEST(WorkerGroups, NoMainGroupWhenEveryListenerIsIsolated) {
  auto groups = workerGroupsOf(configOf({{"x", true}}));
  std::vector<WorkerGroup> expected = {{"x", {"x"}, {}}};
  EXPECT_EQ(groups, expected);
}

TEST(WorkerGroups, AnIsolatedListenerRunsAsItsOwnUserAndTheRestAsTheHosts) {
  auto config = configOf({{"a", false}, {"x", true}, {"y", true}});
  config.host.user = "nobody";
  config.listeners[1].user = {"daemon", "adm"};
  std::vector<WorkerGroup> expected = {{"main", {"a"}, {"nobody", ""}},
                                       {"x", {"x"}, {"daemon", "adm"}},
                                       {"y", {"y"}, {"nobody", ""}}};
  EXPECT_EQ(workerGroupsOf(config), expected);
  std::vector<wharf::config::WorkersUser> users = {{"nobody", ""}, {"daemon", "adm"}};
  EXPECT_EQ(config.workersUsers(), users);
}
