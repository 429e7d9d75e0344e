// Internal. The seam every concurrency mode plugs into: a dispatcher takes
// sessions off one listening socket and decides where each one runs.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

namespace wharf::listener {
class Generation;
}

namespace wharf::dispatch {

// The owner calls stopAccepting() and drain() before destroying a started dispatcher.
class Dispatcher {
 public:
  virtual ~Dispatcher() = default;

  // THREAD: main. Begins taking sessions off the listening socket.
  virtual void start() = 0;
  // THREAD: main. Asks to stop taking new sessions; does not wait.
  virtual void stopAccepting() = 0;
  // THREAD: main, after stopAccepting. Returns once every session has ended.
  virtual void drain() = 0;
  // THREAD: any, after stopAccepting. Closes the sessions the dispatcher holds
  // that have not started yet (a pool's queue); returns how many.
  virtual size_t cutHeldSessions() { return 0; }
  // THREAD: main, before `generation` becomes current. For dispatchers that
  // serve sessions outside this process; throws if it cannot be handed over.
  virtual void adopt(const listener::Generation &) {}
  // THREAD: main, after a reload installed a new generation. With a
  // `timeout` (migrate = on), moves the sessions of older generations onto
  // the current one as each is quiescent, for up to `timeout`; the others
  // stay on theirs. Without, a round still going on ends.
  virtual void migrateSessions(std::optional<std::chrono::milliseconds> /*timeout*/) {}
  // How long a connection served by `generation` may wait for its peer's
  // first bytes before it is given a thread, worker or process; 0: none.
  virtual std::chrono::milliseconds waitForData(const listener::Generation &) const { return {}; }
};

}  // namespace wharf::dispatch
