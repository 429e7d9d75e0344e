// Internal. The plugin generations of one listener: the current one, which
// every new session pins, and the retired ones still serving the sessions
// admitted before a reload. Retired generations are bounded twice: by time
// (drain_timeout) and by number (max_generations, the current one included);
// past either bound their sessions are cut.
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "listener/Generation.h"
#include "session/CutProgress.h"

namespace wharf::listener {

struct DrainLimits {
  std::chrono::milliseconds drainTimeout;
  size_t maxGenerations;
};

class Generations {
 public:
  // THREAD: any. The generation a session admitted now is served by; null
  // until the first is installed.
  GenerationPtr current() const;
  // THREAD: main. Makes `next` current and retires the one before it, if
  // any; then applies max_generations at once.
  void install(GenerationPtr next, const DrainLimits &limits);
  // THREAD: main. Cuts the sessions of retired generations past drain_timeout;
  // forgets those that have ended. Call it periodically.
  void enforce(const DrainLimits &limits);
  // THREAD: any. Cuts every session of every generation; returns how many.
  size_t cutAll(session::CutReason why);
  // THREAD: any. The generations still loaded (the current one, then retired
  // ones with sessions, newest first), each with its live sessions.
  struct Loaded {
    GenerationPtr generation;
    size_t sessions;
  };
  std::vector<Loaded> loaded() const;

 private:
  struct Retired {
    std::weak_ptr<Generation> generation;
    std::chrono::steady_clock::time_point since;
    session::CutProgress cut;
  };

  void cut(Retired &retired, const std::string &reason);

  mutable std::mutex mutex_;
  GenerationPtr current_;
  std::vector<Retired> retired_;  // oldest first
};

}  // namespace wharf::listener
