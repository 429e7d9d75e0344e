// Internal. One configured listener: its socket, the dispatcher of its mode
// and its plugin generations. Built in steps so that --check-config and a
// reload can do everything but serve, and so that a worker forks mode =
// fork's helpers before any plugin code runs: construct (no plugin code),
// bind() to the socket the master bound, load() the plugin (generation 1:
// the instance and all compatibility checks), and start(). --check-config
// only constructs and loads.
#pragma once

#include <memory>

#include "config/Config.h"
#include "dispatch/DispatchMode.h"
#include "listener/Admission.h"
#include "listener/Generations.h"
#include "net/ListenSocket.h"

namespace wharf::listener {

class Listener {
 public:
  // THREAD: main. Throws ListenerError (an unknown mode, an access log that
  // cannot be opened).
  explicit Listener(const config::ListenerConfig &config);
  ~Listener();
  Listener(const Listener &) = delete;
  Listener &operator=(const Listener &) = delete;

  // THREAD: main. Serves a socket already bound (a reload keeps the socket
  // of the listener this one replaces, and its accept queue). Makes the
  // dispatcher: mode = fork forks its helper here, so a worker binds every
  // listener while it is single-threaded and has loaded no plugin.
  void bind(std::shared_ptr<net::ListenSocket> socket);
  // THREAD: main, once. Generation 1, serving the config's plugin (a fork
  // helper loads it too). Throws ListenerError (a pairing the host cannot
  // honour), PluginError (the plugin refused the listener) or what adopt()
  // throws.
  void load(std::shared_ptr<const plugin::Plugin> plugin);
  void start();
  // THREAD: main. Stops taking sessions, and the socket stops listening;
  // then drain() waits for the sessions running.
  void stopAccepting();
  // THREAD: main. Stops taking sessions, leaving the socket listening for
  // the listener that replaces this one.
  void handOver();
  void drain();
  // THREAD: any, after stopAccepting. Closes every session still running or
  // queued (shutdown past its deadline, SIGQUIT); returns how many.
  size_t cutSessions(session::CutReason why);

  // THREAD: main. A generation of this listener serving `config`'s plugin
  // and options (whose shape must be this listener's), not yet current.
  // Throws as load() does.
  GenerationPtr prepareGeneration(const config::ListenerConfig &config,
                                  std::shared_ptr<const plugin::Plugin> plugin) const;
  // THREAD: main. Readies the dispatcher for `next` (a fork helper loads
  // it); throws if it cannot, and then nothing changed.
  void adopt(const Generation &next);
  // THREAD: main, after adopt(next). Sessions admitted from now on are
  // served by `next`; those running finish on theirs, or move onto `next`
  // (`migration`, of the config that made it).
  void install(GenerationPtr next, const DrainLimits &limits,
               const config::MigrationSettings &migration);
  // THREAD: main. TCP_DEFER_ACCEPT on the socket as the current generation
  // wants it (again: a replacement that never served set its own).
  void deferAccept();

  // Live migration across workers: its dispatcher (null before bind()),
  // whose handOverSessions, handOverAnswered and adoptSession move sessions.
  dispatch::Dispatcher *dispatcher() const { return dispatcher_.get(); }

  const config::ListenerConfig &config() const { return config_; }
  const dispatch::DispatchMode &mode() const { return mode_; }
  GenerationPtr current() const { return generations_.current(); }
  Generations &generations() { return generations_; }
  std::vector<Generations::Loaded> loadedGenerations() const { return generations_.loaded(); }
  const std::shared_ptr<net::ListenSocket> &socket() const { return socket_; }
  std::string boundAddress() const { return socket_ ? socket_->boundAddress() : ""; }
  const Admission &admission() const { return admission_; }
  const session::Traffic &traffic() const { return *traffic_; }
  const plugin::PluginMetrics &metrics() const { return *metrics_; }
  // tls = on: its certificate and settings; else null.
  const tls::ContextSlot *tls() const { return tls_.get(); }
  // THREAD: the worker's reloads. A reload's new TLS settings (same shape otherwise): new
  // connections get `context`, built from them; open sessions keep theirs.
  void replaceTls(const config::TlsSettings &settings,
                  std::shared_ptr<const tls::ServerContext> context) {
    tls_->replace(settings, std::move(context));
  }

 private:
  void deferAccept(const Generation &serving);

  config::ListenerConfig config_;  // its plugin and options: those of generation 1
  const dispatch::DispatchMode &mode_;
  Poco::Logger &logger_;
  Admission admission_;
  std::shared_ptr<session::Traffic> traffic_;
  std::unique_ptr<session::AccessLog> accessLog_;   // null: none
  std::shared_ptr<plugin::PluginMetrics> metrics_;  // before generations_: they use it
  Generations generations_;
  std::shared_ptr<net::ListenSocket> socket_;
  std::shared_ptr<tls::ContextSlot> tls_;  // tls = on; else null
  std::unique_ptr<dispatch::Dispatcher> dispatcher_;
  bool started_ = false;
  bool synCookiesWarned_ = false;  // once per listener: deferAccept runs at each reload
};

}  // namespace wharf::listener
