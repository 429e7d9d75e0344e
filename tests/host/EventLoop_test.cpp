// The event loop's deferred delete: an object retired by a handler lives on
// until the batch of events it may still be named in has been handled, then
// goes; retired outside run(), it goes at once.
#include "net/EventLoop.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace wharf::net {
namespace {

// What the probes saw, kept outside them.
struct Record {
  std::vector<std::string> events;  // "ran N", "ignored N", "touched N after its end"
  int destroyed = 0;
  std::vector<int> destroyedDuringBatch;  // `destroyed` as each event came
};

// A handler with an eventfd that is readable from the start. Its memory
// comes from an arena that is never given back, so an event for a destroyed
// probe is seen (its mark says so) instead of reading freed memory (which
// ASan reports too).
class Probe final : public IoHandler, public Deferred {
 public:
  static constexpr uint32_t kAlive = 0xa11fe, kDead = 0xdead;

  Probe(int number, Record &record) : number_(number), record_(record) {
    fd_ = ::eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd_ < 0) throw std::runtime_error("eventfd");
  }
  ~Probe() override {
    mark_ = kDead;
    ::close(fd_);
    ++record_.destroyed;
  }

  void onEvents(uint32_t) override {
    if (mark_ != kAlive) {
      record_.events.push_back("touched " + std::to_string(number_) + " after its end");
      return;
    }
    record_.destroyedDuringBatch.push_back(record_.destroyed);
    if (retired_) {  // retired earlier in this batch: ignores the rest of it
      record_.events.push_back("ignored " + std::to_string(number_));
      return;
    }
    record_.events.push_back("ran " + std::to_string(number_));
    if (onRun) onRun(*this);
  }

  int fd() const { return fd_; }
  void retire() { retired_ = true; }

  std::function<void(Probe &)> onRun;

  static void *operator new(size_t size) {
    if (size > sizeof(Cell) || used >= arena.size()) throw std::bad_alloc();
    return &arena[used++];
  }
  static void operator delete(void *) {}  // kept: see above
  static void resetArena() { used = 0; }

 private:
  struct alignas(std::max_align_t) Cell {
    unsigned char bytes[256];
  };
  static inline std::array<Cell, 16> arena;
  static inline size_t used = 0;

  uint32_t mark_ = kAlive;
  int number_;
  Record &record_;
  int fd_ = -1;
  bool retired_ = false;
};

class EventLoopTest : public ::testing::Test {
 protected:
  void SetUp() override { Probe::resetArena(); }

  // A probe watched by the loop, owned here until retired.
  Probe &add(int number) {
    auto probe = std::make_unique<Probe>(number, record);
    Probe &added = *probe;
    loop.watch(added.fd(), EPOLLIN, &added);
    owned[&added] = std::move(probe);
    return added;
  }

  // Unwatches `probe` and hands it to the loop to destroy.
  void retire(Probe &probe) {
    probe.retire();
    loop.unwatch(probe.fd());
    auto entry = owned.find(&probe);
    loop.deferDelete(std::move(entry->second));
    owned.erase(entry);
  }

  // Runs the loop for one batch of events; `destroyed` as the batch ended.
  int runOneBatch() {
    int calls = 0, destroyedAfterBatch = -1;
    loop.run(
        [&] {
          if (calls++ == 0) return true;
          destroyedAfterBatch = record.destroyed;
          return false;
        },
        std::chrono::milliseconds(10000), [] {});
    return destroyedAfterBatch;
  }

  Record record;
  EventLoop loop;
  std::map<Probe *, std::unique_ptr<Probe>> owned;
};

TEST_F(EventLoopTest, AHandlerThatRetiresOthersInItsBatchLeavesThemAliveUntilItEnds) {
  std::vector<Probe *> probes;
  for (int i = 0; i < 3; ++i) probes.push_back(&add(i));
  // Whichever comes first retires all three, itself included; the events of
  // the other two are in the same batch.
  for (Probe *probe : probes)
    probe->onRun = [&](Probe &) {
      for (Probe *each : probes) retire(*each);
    };
  EXPECT_EQ(runOneBatch(), 3);  // all destroyed once the batch was done
  ASSERT_EQ(record.events.size(), 3u);
  int ran = 0, ignored = 0;
  for (const std::string &event : record.events) {
    ran += event.starts_with("ran ");
    ignored += event.starts_with("ignored ");
  }
  EXPECT_EQ(ran, 1) << ::testing::PrintToString(record.events);
  EXPECT_EQ(ignored, 2) << ::testing::PrintToString(record.events);
  EXPECT_EQ(record.destroyedDuringBatch, std::vector<int>({0, 0, 0}));
  EXPECT_TRUE(owned.empty());
}

TEST_F(EventLoopTest, WhatIsRetiredOutsideRunIsDestroyedAtOnce) {
  Probe &probe = add(7);
  retire(probe);
  EXPECT_EQ(record.destroyed, 1);
}

TEST_F(EventLoopTest, WhatIsRetiredGoesEvenWhenAHandlerThrows) {
  Probe &first = add(0);
  Probe &second = add(1);
  auto retireBothAndThrow = [&](Probe &) {
    retire(first);
    retire(second);
    throw std::runtime_error("handler failed");
  };
  first.onRun = retireBothAndThrow;
  second.onRun = retireBothAndThrow;
  EXPECT_THROW(runOneBatch(), std::runtime_error);
  EXPECT_EQ(record.destroyed, 2);
  EXPECT_EQ(record.events.size(), 1u);  // the batch stopped at the throw
}

}  // namespace
}  // namespace wharf::net
