#include "metrics/PrometheusText.h"

#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

using wharf::metrics::prometheusText;

namespace {

Poco::JSON::Object::Ptr parse(const std::string &text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

const char *kStatus = R"({
  "version": "1.2.3", "pid": 10, "uptime_ms": 5000, "upgrades": 1,
  "reloads": {"applied": 4, "refused": 1},
  "process": {"rss_bytes": 4096, "open_fds": 7, "threads": 3},
  "workers": [
    {"group": "main", "state": "serving", "restarts": 2, "pid": 11, "uptime_ms": 2000,
     "process": {"rss_bytes": 8192}},
    {"group": "main", "state": "replacing", "restarts": 3, "last_signal": 11}],
  "listeners": [
    {"name": "a\"b", "state": "serving", "transport": "tcp", "mode": "reactor",
     "plugin": {"name": "echo", "generation": 2, "generations_loaded": 1},
     "sessions": {"active": 1, "total": 9, "refused": {"access": 4}}},
    {"name": "d", "state": "serving", "transport": "udp", "mode": "pool",
     "plugin": {"name": "echo", "generation": 1, "generations_loaded": 1},
     "sessions": {"active": 0, "total": 7, "refused": {"access": 1, "max_datagram": 2},
                  "bytes_in": 70, "bytes_out": 60, "hook_errors": 1,
                  "ended": {"plugin": 6, "error": 1},
                  "duration_buckets": [5, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 1],
                  "duration_us_sum": 2500000}}]})";

}  // namespace

TEST(PrometheusText, EachFamilyOnceWithItsSamplesTogether) {
  std::string text = prometheusText(*parse(kStatus), 1000);
  EXPECT_NE(text.find("wharf_build_info{version=\"1.2.3\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE wharf_upgrades_total counter\nwharf_upgrades_total 1\n"),
            std::string::npos);
  // The master's and the worker's samples of one family follow one TYPE line.
  size_t type = text.find("# TYPE wharf_process_resident_memory_bytes gauge\n");
  ASSERT_NE(type, std::string::npos);
  EXPECT_EQ(text.find("# TYPE wharf_process_resident_memory_bytes", type + 1), std::string::npos);
  std::string family = text.substr(type, text.find("# HELP", type) - type);
  EXPECT_NE(family.find("{role=\"worker\",group=\"main\",slot=\"0\"} 8192\n"), std::string::npos);
  EXPECT_NE(family.find("{role=\"master\",group=\"\",slot=\"\"} 4096\n"), std::string::npos);
  EXPECT_NE(text.find("wharf_process_start_time_seconds{role=\"worker\",group=\"main\","
                      "slot=\"0\"} 998\n"),
            std::string::npos);
}

TEST(PrometheusText, EscapesLabelValuesAndCountsWorkersThatDoNotAnswer) {
  std::string text = prometheusText(*parse(kStatus), 1000);
  EXPECT_NE(text.find("wharf_listener_sessions_accepted_total{listener=\"a\\\"b\","
                      "transport=\"tcp\",mode=\"reactor\",plugin=\"echo\"} 9\n"),
            std::string::npos);
  EXPECT_NE(text.find("reason=\"access\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("wharf_worker_up{group=\"main\",slot=\"0\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("wharf_worker_up{group=\"main\",slot=\"1\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("wharf_reloads_total{outcome=\"refused\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("wharf_worker_last_crash_signal{group=\"main\",slot=\"1\"} 11\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_worker_restarts_total{group=\"main\",slot=\"1\"} 3\n"),
            std::string::npos);
}

TEST(PrometheusText, DurationsAreACumulativeHistogramAndDatagramsCountTheirDrops) {
  std::string text = prometheusText(*parse(kStatus), 1000);
  const std::string labels = "listener=\"d\",transport=\"udp\",mode=\"pool\",plugin=\"echo\"";
  EXPECT_NE(text.find("# TYPE wharf_listener_session_duration_seconds histogram\n"),
            std::string::npos);
  for (const auto &[bound, count] : std::vector<std::pair<std::string, int>>{
           {"0.001", 5}, {"0.002", 5}, {"0.1", 6}, {"0.2", 6}, {"7200", 6}, {"+Inf", 7}})
    EXPECT_NE(text.find("wharf_listener_session_duration_seconds_bucket{" + labels + ",le=\"" +
                        bound + "\"} " + std::to_string(count) + "\n"),
              std::string::npos)
        << bound;
  EXPECT_NE(text.find("wharf_listener_session_duration_seconds_sum{" + labels + "} 2.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_listener_session_duration_seconds_count{" + labels + "} 7\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_listener_datagrams_received_total{" + labels + "} 10\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_listener_datagrams_dropped_total{" + labels + "} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_listener_received_bytes_total{" + labels + "} 70\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_listener_sessions_ended_total{" + labels + ",how=\"error\"} 1\n"),
            std::string::npos);
  // A stream listener has no datagram counters.
  EXPECT_EQ(text.find("wharf_listener_datagrams_received_total{listener=\"a"), std::string::npos);
}

TEST(PrometheusText, AWorkersStateIsAGaugeNotALabel) {
  std::string text = prometheusText(*parse(kStatus), 1000);
  EXPECT_NE(text.find("wharf_worker_state{group=\"main\",slot=\"1\",state=\"replacing\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_worker_state{group=\"main\",slot=\"1\",state=\"serving\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_process_id{role=\"worker\",group=\"main\",slot=\"0\"} 11\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_process_id{role=\"master\",group=\"\",slot=\"\"} 10\n"),
            std::string::npos);
}

// While a reload or an upgrade drains, one listener is listed twice (serving
// and draining); its series must not change labels, or every dashboard's
// rate() restarts from zero at each drain.
TEST(PrometheusText, AListenerServingAndDrainingIsOneSeriesWithItsWorkersByState) {
  std::string text = prometheusText(*parse(R"({
    "version": "1", "pid": 10, "uptime_ms": 1,
    "listeners": [
      {"name": "e", "state": "serving", "transport": "tcp", "mode": "thread", "workers": 2,
       "plugin": {"name": "echo", "generation": 3, "generations_loaded": 1},
       "zones": [{"name": "z", "size": 65536, "used": 64}],
       "sessions": {"active": 2, "total": 5, "refused": {}, "bytes_in": 10}},
      {"name": "e", "state": "draining", "transport": "tcp", "mode": "thread", "workers": 1,
       "plugin": {"name": "echo", "generation": 2, "generations_loaded": 2},
       "zones": [{"name": "z", "size": 65536, "used": 64}],
       "sessions": {"active": 1, "total": 7, "refused": {}, "bytes_in": 4}}]})"),
                                    1000);
  const std::string labels = "{listener=\"e\",transport=\"tcp\",mode=\"thread\",plugin=\"echo\"}";
  EXPECT_NE(text.find("wharf_listener_sessions_accepted_total" + labels + " 12\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_listener_sessions_active" + labels + " 3\n"), std::string::npos);
  EXPECT_NE(text.find("wharf_listener_received_bytes_total" + labels + " 14\n"), std::string::npos);
  EXPECT_NE(text.find("wharf_listener_plugin_generation" + labels + " 3\n"), std::string::npos);
  EXPECT_NE(text.find("wharf_listener_workers{listener=\"e\",state=\"serving\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_listener_workers{listener=\"e\",state=\"draining\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("wharf_zone_size_bytes{listener=\"e\",zone=\"z\"} 65536\n"),
            std::string::npos);
  size_t first = text.find("wharf_listener_sessions_accepted_total{");
  EXPECT_EQ(text.find("wharf_listener_sessions_accepted_total{", first + 1), std::string::npos);
}
