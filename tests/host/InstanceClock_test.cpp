// An instance's timer thread: callbacks get the instance's state, a failing
// one ends its timer, stop() joins and releases, a refused clock refuses,
// and held threads start only once allowed.
#include "plugin/InstanceClock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace wharf::plugin {
namespace {

struct Probe {
  std::mutex mutex;
  std::condition_variable changed;
  int calls = 0;
  int releases = 0;
  void *state = nullptr;
  wharf_status answer = WHARF_OK;

  // Waits until `done` holds; false after ten seconds.
  template <typename Done>
  bool waitFor(Done done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(10), [&] { return done(*this); });
  }
};

wharf_status call(void *state, void *user) {
  auto *probe = static_cast<Probe *>(user);
  std::lock_guard lock(probe->mutex);
  ++probe->calls;
  probe->state = state;
  probe->changed.notify_all();
  return probe->answer;
}

void release(void *user) {
  auto *probe = static_cast<Probe *>(user);
  std::lock_guard lock(probe->mutex);
  ++probe->releases;
  probe->changed.notify_all();
}

TEST(InstanceClock, CallbacksGetTheStateAndStopJoinsAndReleases) {
  InstanceClock clock(Poco::Logger::get("test"), "listener [test]", "test", ClockThread::Allowed);
  int state = 0;
  Probe probe;
  ASSERT_EQ(clock.start(0, 1, call, release, &probe, nullptr), WHARF_OK);
  clock.open(&state);
  ASSERT_TRUE(probe.waitFor([](Probe &p) { return p.calls >= 3; }));
  clock.stop();
  std::lock_guard lock(probe.mutex);
  int calls = probe.calls;
  EXPECT_EQ(probe.state, &state);
  EXPECT_EQ(probe.releases, 1);
  EXPECT_EQ(clock.start(0, 0, call, release, &probe, nullptr), WHARF_CLOSED);
  EXPECT_EQ(probe.calls, calls);  // none after stop() returned
}

TEST(InstanceClock, AFailingCallbackEndsItsTimer) {
  InstanceClock clock(Poco::Logger::get("test"), "listener [test]", "test", ClockThread::Allowed);
  Probe probe;
  probe.answer = WHARF_ERROR;
  clock.open(nullptr);
  ASSERT_EQ(clock.start(0, 1, call, release, &probe, nullptr), WHARF_OK);
  ASSERT_TRUE(probe.waitFor([](Probe &p) { return p.releases == 1; }));
  clock.stop();
  std::lock_guard lock(probe.mutex);
  EXPECT_EQ(probe.calls, 1);
  EXPECT_EQ(probe.releases, 1);
}

TEST(InstanceClock, ARefusedClockRefusesTimers) {
  InstanceClock clock(Poco::Logger::get("test"), "listener [test]", "test", ClockThread::Refused);
  Probe probe;
  clock.open(nullptr);
  EXPECT_EQ(clock.start(0, 0, call, release, &probe, nullptr), WHARF_UNSUPPORTED);
  EXPECT_EQ(clock.cancel(1), WHARF_NOT_FOUND);
}

}  // namespace
}  // namespace wharf::plugin
