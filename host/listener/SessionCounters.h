// Internal. How many sessions a listener is serving and has served. Updated
// by whichever thread runs a session; read by the control socket.
#pragma once

#include <atomic>
#include <cstdint>

namespace wharf::listener {

struct SessionCounters {
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> total{0};

  // Counts one session for as long as it lives.
  class Scope {
   public:
    explicit Scope(SessionCounters &counters) : counters_(counters) {
      counters_.active.fetch_add(1, std::memory_order_relaxed);
      counters_.total.fetch_add(1, std::memory_order_relaxed);
    }
    ~Scope() { counters_.active.fetch_sub(1, std::memory_order_relaxed); }
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;

   private:
    SessionCounters &counters_;
  };
};

}  // namespace wharf::listener
