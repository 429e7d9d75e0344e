#include "dispatch/HandoverPackage.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using wharf::dispatch::movedAnswer;
using wharf::dispatch::pauseReported;
using wharf::dispatch::refusedAnswer;
using wharf::dispatch::unpackSession;

TEST(HandoverPackage, TheNewWorkerReportsThePauseFromTheFreezeToItsAnswer) {
  // The steady clock is the host's: the old worker's freeze time means the
  // same in the new worker, which answers as it is about to serve the
  // session. The old worker's own measure also counts the answer's way back.
  Poco::JSON::Object::Ptr package = new Poco::JSON::Object;
  auto frozenSince = Clock::now() - 5ms;
  package->set(
      "frozen_ns",
      std::chrono::duration_cast<std::chrono::nanoseconds>(frozenSince.time_since_epoch()).count());
  auto unpacked = unpackSession(*package);
  ASSERT_TRUE(unpacked.frozenSince.has_value());
  EXPECT_EQ(*unpacked.frozenSince, frozenSince);
  Poco::JSON::Object::Ptr answer = movedAnswer("echo", 9, unpacked.frozenSince);
  EXPECT_EQ(answer->getValue<std::string>("outcome"), "moved");
  EXPECT_EQ(answer->getValue<uint64_t>("id"), 9u);
  std::chrono::nanoseconds measuredHere = Clock::now() + 1h - frozenSince;
  std::chrono::nanoseconds reported = pauseReported(*answer, measuredHere);
  EXPECT_GE(reported, 5ms);
  EXPECT_LT(reported, measuredHere);
}

TEST(HandoverPackage, APackageOfAnOlderBinaryGetsTheOldWorkersOwnMeasure) {
  Poco::JSON::Object::Ptr package = new Poco::JSON::Object;  // no frozen_ns
  auto unpacked = unpackSession(*package);
  EXPECT_FALSE(unpacked.frozenSince.has_value());
  Poco::JSON::Object::Ptr answer = movedAnswer("echo", 1, unpacked.frozenSince);
  EXPECT_FALSE(answer->has("paused_ns"));
  EXPECT_EQ(pauseReported(*answer, 42ms), 42ms);
}

TEST(HandoverPackage, AReportedPauseLongerThanTheRoundTripIsNotBelieved) {
  Poco::JSON::Object::Ptr answer = movedAnswer("echo", 1, std::nullopt);
  answer->set("paused_ns", std::chrono::nanoseconds(1s).count());
  EXPECT_EQ(pauseReported(*answer, 3ms), 3ms);
  answer->set("paused_ns", -5);
  EXPECT_EQ(pauseReported(*answer, 3ms), 3ms);
}

TEST(HandoverPackage, ARefusalSaysWhy) {
  Poco::JSON::Object::Ptr answer = refusedAnswer("ftp", 4, "refused by session_import");
  EXPECT_EQ(answer->getValue<std::string>("listener"), "ftp");
  EXPECT_EQ(answer->getValue<std::string>("outcome"), "refused");
  EXPECT_EQ(answer->getValue<std::string>("why"), "refused by session_import");
}

TEST(HandoverPackage, AFreezeTimeThatIsNoTimeIsNotSentAndTheSessionStillUnpacks) {
  // A statistic: whatever it holds (another binary's, or garbage on the
  // link), the session is not refused as garbled for it.
  for (const auto &odd : std::vector<Poco::Dynamic::Var>{
           Poco::Dynamic::Var(), Poco::Dynamic::Var(std::string("soon")),
           Poco::Dynamic::Var(std::numeric_limits<int64_t>::min()),
           Poco::Dynamic::Var(std::numeric_limits<uint64_t>::max()),
           Poco::Dynamic::Var(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  (Clock::now() + 1h).time_since_epoch())
                                  .count())}) {
    Poco::JSON::Object::Ptr package = new Poco::JSON::Object;
    package->set("frozen_ns", odd);
    package->set("from_version", std::string("1.0.0"));
    auto unpacked = unpackSession(*package);
    EXPECT_FALSE(unpacked.frozenSince.has_value()) << odd.toString();
    EXPECT_EQ(unpacked.fromVersion, "1.0.0");
  }
}
