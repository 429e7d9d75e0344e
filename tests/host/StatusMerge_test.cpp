#include "master/StatusMerge.h"

#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <limits>
#include <map>

#include "session/Traffic.h"

using wharf::master::mergeListeners;

namespace {

Poco::JSON::Object::Ptr workerStatus(const std::string &listeners) {
  return Poco::JSON::Parser()
      .parse("{\"listeners\": [" + listeners + "]}")
      .extract<Poco::JSON::Object::Ptr>();
}

std::string listener(const std::string &name, const std::string &state, int generation, int active,
                     int total, int refusedAccess) {
  return "{\"name\": \"" + name + "\", \"state\": \"" + state +
         "\", \"plugin\": {\"name\": \"echo\", \"generation\": " + std::to_string(generation) +
         "}, \"sessions\": {\"active\": " + std::to_string(active) +
         ", \"total\": " + std::to_string(total) +
         ", \"refused\": {\"access\": " + std::to_string(refusedAccess) +
         "}, \"duration_buckets\": [" + std::to_string(total) + ", 1]}}";
}

}  // namespace

TEST(StatusMerge, SumsEachListenersCountersOverItsWorkers) {
  auto first = workerStatus(listener("e", "serving", 1, 2, 10, 1) + "," +
                            listener("e", "draining", 1, 1, 4, 0));
  auto second = workerStatus(listener("e", "serving", 2, 3, 20, 5));
  auto merged = mergeListeners({first, second});
  ASSERT_EQ(merged->size(), 2u);
  auto serving = merged->getObject(0);
  EXPECT_EQ(serving->getValue<std::string>("state"), "serving");
  EXPECT_EQ(serving->getValue<int>("workers"), 2);
  EXPECT_EQ(serving->getObject("sessions")->getValue<int>("active"), 5);
  EXPECT_EQ(serving->getObject("sessions")->getValue<int>("total"), 30);
  EXPECT_EQ(serving->getObject("sessions")->getObject("refused")->getValue<int>("access"), 6);
  EXPECT_EQ(serving->getObject("plugin")->getValue<int>("generation"), 2);  // the newest
  auto buckets = serving->getObject("sessions")->getArray("duration_buckets");
  ASSERT_EQ(buckets->size(), 2u);  // histogram buckets: summed bucket by bucket
  EXPECT_EQ(buckets->getElement<int>(0), 30);
  EXPECT_EQ(buckets->getElement<int>(1), 2);
  auto draining = merged->getObject(1);
  EXPECT_EQ(draining->getValue<int>("workers"), 1);
  EXPECT_EQ(draining->getObject("sessions")->getValue<int>("total"), 4);
}

TEST(StatusMerge, LeavesTheWorkersRepliesAsTheyWere) {
  auto first = workerStatus(listener("e", "serving", 1, 2, 10, 0));
  auto second = workerStatus(listener("e", "serving", 1, 3, 20, 0));
  mergeListeners({first, second});
  EXPECT_EQ(
      first->getArray("listeners")->getObject(0)->getObject("sessions")->getValue<int>("total"),
      10);
  EXPECT_EQ(first->getArray("listeners")
                ->getObject(0)
                ->getObject("sessions")
                ->getArray("duration_buckets")
                ->getElement<int>(0),
            10);
}

TEST(StatusMerge, LeavesOutListenersAWorkerSentMalformed) {
  // A worker runs third-party plugins: a reply with holes must not crash the master.
  auto odd = workerStatus(
      "1, \"text\", {}, {\"name\": \"e\"}, {\"name\": \"e\", \"state\": \"serving\"}, "
      "{\"name\": \"e\", \"state\": \"serving\", \"sessions\": 3, \"plugin\": {}}, "
      "{\"name\": 7, \"state\": \"serving\", \"sessions\": {}, \"plugin\": {\"generation\": 1}}, "
      "{\"name\": \"e\", \"state\": \"serving\", \"sessions\": {}, \"plugin\": {\"generation\": "
      "\"new\"}}");
  auto good = workerStatus(listener("e", "serving", 1, 2, 10, 1));
  auto merged = mergeListeners({odd, good, odd});
  ASSERT_EQ(merged->size(), 1u);
  EXPECT_EQ(merged->getObject(0)->getValue<int>("workers"), 1);
  EXPECT_EQ(merged->getObject(0)->getObject("sessions")->getValue<int>("total"), 10);
}

// A worker runs third-party plugins: its numbers are input. Sums near the
// limit stay there (a signed overflow was undefined; the control fuzzer found it).
TEST(StatusMerge, SumsThatWouldOverflowStayAtTheLimit) {
  std::string huge =
      "{\"name\": \"e\", \"state\": \"serving\", \"plugin\": {\"generation\": 1}, "
      "\"sessions\": {\"total\": 9223372036854775000, \"active\": "
      "-9223372036854775000, \"duration_buckets\": [18446744073709551000]}}";
  auto merged = mergeListeners({workerStatus(huge), workerStatus(huge)});
  ASSERT_EQ(merged->size(), 1u);
  auto sessions = merged->getObject(0)->getObject("sessions");
  EXPECT_EQ(sessions->getValue<Poco::Int64>("total"), std::numeric_limits<Poco::Int64>::max());
  EXPECT_EQ(sessions->getValue<Poco::Int64>("active"), std::numeric_limits<Poco::Int64>::min());
  EXPECT_EQ(sessions->getArray("duration_buckets")->getElement<uint64_t>(0),
            std::numeric_limits<uint64_t>::max());
}

// A counter past 2^63 (an unsigned 64-bit value) made the merge throw, and
// with it the whole status and /metrics.
TEST(StatusMerge, CountersPastTheSignedRangeSumAsUnsigned) {
  std::string big =
      "{\"name\": \"e\", \"state\": \"serving\", \"plugin\": {\"generation\": 1}, "
      "\"sessions\": {\"bytes_in\": 10000000000000000000, \"total\": 1}}";
  auto merged = mergeListeners({workerStatus(big), workerStatus(big)});
  ASSERT_EQ(merged->size(), 1u);
  auto sessions = merged->getObject(0)->getObject("sessions");
  EXPECT_EQ(sessions->getValue<Poco::UInt64>("bytes_in"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(sessions->getValue<int>("total"), 2);
}

TEST(StatusMerge, CountsTheWorkersWhereAListenerIsPaused) {
  auto paused = [](int workers) {
    std::string text = listener("e", "serving", 1, 0, 0, 0);
    return text.insert(1, "\"paused_workers\": " + std::to_string(workers) + ", ");
  };
  auto merged =
      mergeListeners({workerStatus(paused(1)), workerStatus(paused(0)), workerStatus(paused(1))});
  ASSERT_EQ(merged->size(), 1u);
  EXPECT_EQ(merged->getObject(0)->getValue<int>("paused_workers"), 2);
  // Not a number: left out, as any malformed part.
  std::string text = listener("e", "serving", 1, 0, 0, 0);
  EXPECT_EQ(mergeListeners({workerStatus(text.insert(1, "\"paused_workers\": \"x\", "))})->size(),
            0u);
}

// An upgrade's old workers (before the 1-2-5 buckets) count durations in 9
// buckets while they drain: their counts land in the buckets of the same
// bounds, so that the histogram the new master serves stays exact.
TEST(StatusMerge, AnOldWorkersDecadeBucketsJoinTheBucketsOfTheSameBounds) {
  auto old = workerStatus(
      R"({"name": "e", "state": "draining", "plugin": {"name": "echo", "generation": 1},
          "sessions": {"duration_buckets": [1, 2, 3, 4, 5, 6, 7, 8, 9]}})");
  auto merged = mergeListeners({old});
  auto buckets = merged->getObject(0)->getObject("sessions")->getArray("duration_buckets");
  const auto &bounds = wharf::session::kDurationBounds;
  ASSERT_EQ(buckets->size(), bounds.size() + 1);
  std::map<double, uint64_t> byBound;
  uint64_t total = 0;
  for (unsigned i = 0; i < bounds.size(); ++i) {
    total += buckets->getElement<uint64_t>(i);
    if (buckets->getElement<uint64_t>(i)) byBound[bounds[i]] = buckets->getElement<uint64_t>(i);
  }
  EXPECT_EQ((std::map<double, uint64_t>{
                {0.001, 1}, {0.01, 2}, {0.1, 3}, {1, 4}, {10, 5}, {60, 6}, {600, 7}, {3600, 8}}),
            byBound);
  EXPECT_EQ(buckets->getElement<uint64_t>(bounds.size()), 9u);  // +Inf
  EXPECT_EQ(total, 36u);
  // The old worker's reply is left as it was.
  EXPECT_EQ(old->getArray("listeners")
                ->getObject(0)
                ->getObject("sessions")
                ->getArray("duration_buckets")
                ->size(),
            9u);
}

// A worker that has not applied a reload which renewed a TLS certificate
// still serves the old one: the merged expiry is the earliest, for the alert.
TEST(StatusMerge, KeepsTheEarliestCertificateExpiry) {
  auto withExpiry = [](long long expires) {
    std::string entry = listener("t", "serving", 1, 0, 0, 0);
    entry.insert(entry.size() - 1,
                 ", \"tls_certificate\": {\"expires\": " + std::to_string(expires) + "}");
    return workerStatus(entry);
  };
  for (auto order :
       {std::pair{2000000000LL, 1900000000LL}, std::pair{1900000000LL, 2000000000LL}}) {
    auto merged = mergeListeners({withExpiry(order.first), withExpiry(order.second)});
    ASSERT_EQ(merged->size(), 1u);
    EXPECT_EQ(merged->getObject(0)->getObject("tls_certificate")->getValue<long long>("expires"),
              1900000000LL);
  }
}
