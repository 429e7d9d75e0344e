// Internal. The seam every concurrency mode plugs into: a dispatcher takes
// sessions off one listening socket and decides where each one runs.
#pragma once

#include <Poco/JSON/Object.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include "net/FileDescriptor.h"

namespace wharf::listener {
class Generation;
}

namespace wharf::dispatch {

class HandoverLink;

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
  // Live migration across workers (migrate = on; HandoverLink).
  // THREAD: any. This worker retires: its quiescent sessions go over `link`
  // to worker `to` as each is quiescent, for up to `timeout`. False if the
  // dispatcher does not (its sessions drain here).
  virtual bool handOverSessions(std::shared_ptr<HandoverLink> /*link*/, pid_t /*to*/,
                                std::chrono::milliseconds /*timeout*/) {
    return false;
  }
  // THREAD: the link's. The other worker's answer to a session sent (null:
  // the link has gone).
  virtual void handOverAnswered(Poco::JSON::Object::Ptr /*answer*/) {}
  // THREAD: the link's. A session a retiring worker sent, on `connection`:
  // false if the dispatcher cannot take one (the caller refuses it); else it
  // answers over `link` itself, once it has served it or refused it.
  virtual bool adoptSession(Poco::JSON::Object::Ptr /*package*/,
                            net::FileDescriptor & /*connection*/,
                            std::shared_ptr<HandoverLink> /*link*/) {
    return false;
  }
  // How long a connection served by `generation` may wait for its peer's
  // first bytes before it is given a thread, worker or process; 0: none.
  virtual std::chrono::milliseconds waitForData(const listener::Generation &) const { return {}; }
};

}  // namespace wharf::dispatch
