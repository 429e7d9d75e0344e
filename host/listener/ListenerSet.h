// Internal. The listeners wharfd serves, and the ones draining after a reload
// removed or replaced them. A reload applies a new config by difference:
// everything is checked, loaded, bound and started first, and only if all of
// it succeeds does anything change (what was started is stopped again).
//   - same address, same shape (ListenerConfig::sameShapeAs): the listener
//     stays; a changed plugin file or options give it a new generation;
//   - same address, another shape: a new listener takes over the socket
//     (never closed, its accept queue kept) and the old one drains;
//   - a new address is bound; a vanished one stops listening and drains.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/Config.h"
#include "listener/DrainQueue.h"
#include "listener/Listener.h"
#include "plugin/PluginSet.h"
#include "session/CutProgress.h"

namespace wharf::listener {

// The socket a listener of a new address serves: the master bound it and
// passed it over; throws if there is none.
using SocketSource =
    std::function<std::shared_ptr<net::ListenSocket>(const config::ListenerConfig &)>;

class ListenerSet {
 public:
  ListenerSet() = default;
  ~ListenerSet();
  ListenerSet(const ListenerSet &) = delete;
  ListenerSet &operator=(const ListenerSet &) = delete;

  // THREAD: main, before any thread starts, in this order (--check-config
  // skips bind and start); each throws on the first error. open() makes the
  // config's listeners, bind() their dispatchers (mode = fork forks its
  // helpers: no plugin has been loaded yet), load() loads their plugins.
  void open(const config::Config &config);
  void bind(const SocketSource &sockets);
  // `loading` (if set) is told each listener before its plugin loads.
  void load(plugin::PluginSet &plugins,
            const std::function<void(const config::ListenerConfig &)> &loading = {});
  // The listeners named in `paused` (their plugin crashed the worker this
  // one replaces) start accepting only after their delay, at resumePaused().
  void start(const std::map<std::string, std::chrono::milliseconds> &paused = {});
  // THREAD: any, one at a time with the other calls. Starts the paused
  // listeners whose delay has passed; returns when the next one is due.
  std::optional<std::chrono::steady_clock::time_point> resumePaused();
  // THREAD: any, one at a time with the other calls. Whether `listener`
  // waits, paused by start().
  bool paused(const Listener &listener) const;

  // THREAD: any, one at a time with the other calls. Applies `next` as a
  // whole or throws (nothing changed). Returns one line per change.
  std::vector<std::string> reload(const config::Config &next, plugin::PluginSet &plugins,
                                  const DrainLimits &limits, const SocketSource &sockets);
  // THREAD: any, one at a time with the other calls; call periodically.
  // Cuts sessions past drain_timeout or max_generations, and frees the
  // listeners that have drained.
  void enforce(const DrainLimits &limits);

  // Shutting down: stop accepting everywhere, then drain (any thread), and
  // cut what remains if needed.
  void stopAccepting();
  void drain();
  size_t cutSessions(session::CutReason why);

  const std::vector<std::unique_ptr<Listener>> &serving() const { return serving_; }
  // Listeners no longer accepting whose sessions are finishing.
  std::vector<const Listener *> draining() const;

 private:
  struct Draining {
    std::unique_ptr<Listener> listener;
    std::chrono::steady_clock::time_point since;
    session::CutProgress cut;
  };

  void retire(std::unique_ptr<Listener> listener);

  std::vector<std::unique_ptr<Listener>> serving_;
  // Serving listeners not started yet, and when they start (a reload may
  // replace or remove one meanwhile: it is then not started at all).
  std::vector<std::pair<Listener *, std::chrono::steady_clock::time_point>> paused_;
  std::vector<Draining> draining_;
  DrainQueue drainQueue_;  // declared last: destroyed (joined) first
};

}  // namespace wharf::listener
