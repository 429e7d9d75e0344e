#include "plugin/PluginMetrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

using wharf::plugin::PluginMetrics;

namespace {

int64_t valueOf(const PluginMetrics &metrics, const std::string &name, const std::string &labels) {
  return metrics.report()->getObject(name)->getObject("series")->getValue<Poco::Int64>(labels);
}

}  // namespace

TEST(PluginMetrics, TheSameSeriesAgainIsTheSameHandle) {
  PluginMetrics metrics;
  std::string why;
  wharf_metric *first = metrics.declare(WHARF_METRIC_COUNTER, "hits_total", "Hits.", "", why);
  ASSERT_NE(first, nullptr) << why;
  EXPECT_EQ(metrics.declare(WHARF_METRIC_COUNTER, "hits_total", "Hits.", "", why), first);
  EXPECT_NE(metrics.declare(WHARF_METRIC_COUNTER, "hits_total", "Hits.", "kind=a", why), first);
  EXPECT_EQ(metrics.declare(WHARF_METRIC_GAUGE, "hits_total", "", "", why), nullptr);
  EXPECT_EQ(why, "'hits_total' was declared as another kind");
}

TEST(PluginMetrics, AtMostSixtyFourSeries) {
  PluginMetrics metrics;
  std::string why;
  for (size_t n = 0; n < PluginMetrics::kMaxSeries; ++n)
    ASSERT_NE(metrics.declare(WHARF_METRIC_GAUGE, "g", "", "n=" + std::to_string(n), why), nullptr)
        << why;
  EXPECT_EQ(metrics.declare(WHARF_METRIC_GAUGE, "g", "", "n=x", why), nullptr);
  EXPECT_EQ(why, "more than 64 series");
}

// A fork listener's processes: what a forked process adds, to a series
// declared before the fork or to one it declared first, the parent sees.
TEST(PluginMetrics, AForkedProcessAddsToTheSameValues) {
  PluginMetrics metrics;
  std::string why;
  wharf_metric *before = metrics.declare(WHARF_METRIC_COUNTER, "before_total", "", "", why);
  ASSERT_NE(before, nullptr) << why;
  before->value->fetch_add(1);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    before->value->fetch_add(10);
    wharf_metric *later = metrics.declare(WHARF_METRIC_GAUGE, "later", "", "at=child", why);
    if (later != nullptr) later->value->store(7);
    ::_exit(later != nullptr ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(valueOf(metrics, "before_total", ""), 11);
  // Declared here after the child did: the same value, not a fresh one.
  ASSERT_NE(metrics.declare(WHARF_METRIC_GAUGE, "later", "", "at=child", why), nullptr) << why;
  EXPECT_EQ(valueOf(metrics, "later", "at=child"), 7);
}
