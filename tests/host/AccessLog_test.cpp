#include "session/AccessLog.h"

#include <gtest/gtest.h>

using namespace wharf::session;

namespace {

std::chrono::system_clock::time_point at(int64_t millis) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(millis));
}

}  // namespace

TEST(AccessLog, OneLogfmtLinePerSession) {
  SessionTally tally{.bytesIn = 5,
                     .bytesOut = 7,
                     .ending = Ending::Client,
                     .duration = std::chrono::microseconds(1500)};
  EXPECT_EQ(accessLine({"echo", "192.0.2.7:40112", 3, tally, ""}, at(1764526309123)),
            "time=2025-11-30T18:11:49.123Z listener=echo peer=192.0.2.7:40112 generation=3 "
            "duration=0.001500 in=5 out=7 ended=client");
}

TEST(AccessLog, ValuesThatCouldStartAFieldOrALineAreQuoted) {
  SessionTally tally{.ending = Ending::Error};
  std::string line =
      accessLine({"e", "/run/a b.sock", 1, tally, "said \"no\"\n ended=client"}, at(0));
  EXPECT_EQ(line,
            "time=1970-01-01T00:00:00.000Z listener=e peer=\"/run/a b.sock\" generation=1 "
            "duration=0.000000 in=0 out=0 ended=error error=\"said \\\"no\\\"\\x0a ended=client\"");
  EXPECT_NE(accessLine({"e", "", 1, tally, ""}, at(0)).find(" listener=e peer=\"\" "),
            std::string::npos);  // an unnamed unix peer
}

TEST(AccessLog, OneJsonObjectPerSessionWithNumbersAsNumbers) {
  SessionTally tally{.bytesIn = 5,
                     .bytesOut = 7,
                     .ending = Ending::Client,
                     .duration = std::chrono::microseconds(1500)};
  EXPECT_EQ(accessLine({"echo", "[2001:db8::1]:40112", 3, tally, ""}, at(1764526309123),
                       wharf::config::AccessLogFormat::Json),
            "{\"time\":\"2025-11-30T18:11:49.123Z\",\"listener\":\"echo\","
            "\"peer\":\"[2001:db8::1]:40112\",\"generation\":3,\"duration\":0.001500,\"in\":5,"
            "\"out\":7,\"ended\":\"client\"}");
}

TEST(AccessLog, JsonStringsEscapeWhatCouldEndThemAndKeepValidUtf8) {
  SessionTally tally{.ending = Ending::Error};
  std::string line = accessLine({"e", "/run/\xff\xc3\xa9.sock", 1, tally, "said \"no\"\n\\"}, at(0),
                                wharf::config::AccessLogFormat::Json);
  // A byte that is not UTF-8 becomes its code point; é stays as it was.
  EXPECT_NE(line.find("\"peer\":\"/run/\\u00ff\xc3\xa9.sock\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"error\":\"said \\\"no\\\"\\u000a\\\\\"}"), std::string::npos) << line;
  // Overlong and surrogate forms are not valid UTF-8 either.
  std::string odd = accessLine({"e", "\xc0\xaf\xed\xa0\x80", 1, tally, ""}, at(0),
                               wharf::config::AccessLogFormat::Json);
  EXPECT_NE(odd.find("\"peer\":\"\\u00c0\\u00af\\u00ed\\u00a0\\u0080\""), std::string::npos) << odd;
}

TEST(Traffic, ADurationCountsInTheFirstBucketThatHoldsIt) {
  auto traffic = Traffic::create();
  for (auto duration : {std::chrono::microseconds(1000), std::chrono::microseconds(1001),
                        std::chrono::microseconds(7200000001)})
    traffic->add({.bytesIn = 1, .duration = duration});
  EXPECT_EQ(traffic->durationBucket(0), 1u);  // le 0.001 holds 0.001 itself
  EXPECT_EQ(traffic->durationBucket(1), 1u);
  EXPECT_EQ(traffic->durationBucket(kDurationBounds.size()), 1u);  // +Inf
  EXPECT_EQ(traffic->bytesIn(), 3u);
  EXPECT_EQ(traffic->ended(Ending::Plugin), 3u);
  EXPECT_EQ(traffic->durationSumMicros(), 7200002002u);
}

TEST(Traffic, BytesAddedWhileASessionRanAreNotAddedAgainAtItsEnd) {
  auto traffic = Traffic::create();
  traffic->addBytes({.in = 100, .out = 40});
  traffic->add({.bytesIn = 150, .bytesOut = 40}, {.in = 100, .out = 40});
  EXPECT_EQ(traffic->bytesIn(), 150u);
  EXPECT_EQ(traffic->bytesOut(), 40u);
  // Kernel totals reported at the end (a plugin that used the socket) hold
  // what was counted before; never less than nothing.
  traffic->add({.bytesIn = 10}, {.in = 20});
  EXPECT_EQ(traffic->bytesIn(), 150u);
}
