#include "metrics/StatusPageRender.h"

#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "metrics/StatusPage.h"

using wharf::metrics::renderStatusPage;

namespace {

Poco::JSON::Object::Ptr parse(const std::string &text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

const char *kStatus = R"({
  "version": "1.2.3", "pid": 10, "uptime_ms": 5400, "upgrades": 2,
  "reloads": {"applied": 4, "refused": 1},
  "workers": [{"group": "main", "pid": 11}, {"group": "main", "state": "replacing"}],
  "listeners": [
    {"name": "echo-tcp", "state": "serving", "transport": "tcp", "listen": "127.0.0.1:7",
     "mode": "reactor", "workers": 2,
     "plugin": {"name": "echo", "version": "<script>alert(1)</script>", "generation": 3},
     "sessions": {"active": 1, "total": 9, "refused": {"access": 4, "max_per_source": 2},
                  "bytes_in": 70, "bytes_out": 60}}]})";

}  // namespace

TEST(StatusPageRender, TheTableAndSummaryAreInThePageAsServed) {
  std::string page = renderStatusPage(wharf::metrics::statusPageHtml(), *parse(kStatus));
  EXPECT_NE(page.find("<tr class=\"serving\" data-listener=\"echo-tcp\"><td>echo-tcp</td>"
                      "<td>serving</td><td>tcp</td><td>127.0.0.1:7</td><td>reactor</td>"),
            std::string::npos)
      << page;
  // generation, workers, active, accepted, refused (summed), bytes in, bytes out
  EXPECT_NE(page.find("<td class=\"number\">3</td><td class=\"number\">2</td>"
                      "<td class=\"number\">1</td><td class=\"number\">9</td>"
                      "<td class=\"number\">6</td><td class=\"number\">70</td>"
                      "<td class=\"number\">60</td></tr>"),
            std::string::npos);
  EXPECT_NE(page.find("<span id=\"version\">1.2.3</span>"), std::string::npos);
  EXPECT_NE(page.find("master pid 10, up 5 s, workers 1/2 answering, reloads 4 applied / 1 "
                      "refused, upgrades 2"),
            std::string::npos);
  EXPECT_EQ(page.find("<!--wharf:"), std::string::npos);
}

// A plugin names its own version: it reaches the page as text, never as markup.
TEST(StatusPageRender, APluginsTextIsEscaped) {
  std::string page = renderStatusPage(wharf::metrics::statusPageHtml(), *parse(kStatus));
  EXPECT_EQ(page.find("<script>alert"), std::string::npos);
  EXPECT_NE(page.find("<td>echo &lt;script&gt;alert(1)&lt;/script&gt;</td>"), std::string::npos);
}

TEST(StatusPageRender, ASnapshotWithoutListenersOrWorkersStillRenders) {
  std::string page = renderStatusPage(wharf::metrics::statusPageHtml(), *parse(R"({"pid": 3})"));
  EXPECT_NE(page.find("workers 0/0 answering"), std::string::npos);
  EXPECT_EQ(page.find("<tr class="), std::string::npos);
}
