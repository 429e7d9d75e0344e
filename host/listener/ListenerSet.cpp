#include "listener/ListenerSet.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <set>

#include "listener/ListenerError.h"

namespace wharf::listener {
namespace {

// What a reload does to one listener of the new config.
struct Change {
  const config::ListenerConfig *config;
  Listener *current = nullptr;      // the serving listener at the same address
  GenerationPtr generation;         // for `current`: its plugin or options changed
  std::unique_ptr<Listener> fresh;  // a new listener, taking over `current`'s socket if any
  std::shared_ptr<const tls::ServerContext> tls;  // for `current`: its TLS settings changed
};

bool samePlugin(const Generation &generation, const plugin::Plugin &plugin,
                const config::ListenerConfig &config) {
  return &generation.instance().plugin() == &plugin &&
         generation.instance().options() == config.options;
}

}  // namespace

ListenerSet::~ListenerSet() {
  stopAccepting();
  drain();
}

void ListenerSet::open(const config::Config &config) {
  for (const auto &listenerConfig : config.listeners)
    serving_.push_back(std::make_unique<Listener>(listenerConfig));
}

void ListenerSet::bind(const SocketSource &sockets) {
  for (auto &listener : serving_) listener->bind(sockets(listener->config()));
}

void ListenerSet::load(plugin::PluginSet &plugins,
                       const std::function<void(const config::ListenerConfig &)> &loading) {
  for (auto &listener : serving_) {
    if (loading) loading(listener->config());
    listener->load(plugins.get(listener->config().pluginPath));
  }
}

namespace {

void startListener(Listener &listener) {
  try {
    listener.start();
  } catch (const std::exception &error) {
    throw ListenerError("listener [" + listener.config().section() +
                        "]: cannot start: " + error.what());
  }
}

}  // namespace

void ListenerSet::start(const std::map<std::string, std::chrono::milliseconds> &paused) {
  for (auto &listener : serving_) {
    auto pause = paused.find(listener->config().name);
    if (pause == paused.end() || pause->second.count() <= 0) {
      startListener(*listener);
      continue;
    }
    paused_.emplace_back(listener.get(), std::chrono::steady_clock::now() + pause->second);
    Poco::Logger::get("listener." + listener->config().name)
        .warning("[" + listener->config().section() + "] its plugin crashed the worker this one " +
                 "replaces, soon after the last: accepting in " +
                 std::to_string(pause->second.count()) + " ms (crash loop)");
  }
}

std::optional<std::chrono::steady_clock::time_point> ListenerSet::resumePaused() {
  std::optional<std::chrono::steady_clock::time_point> next;
  auto now = std::chrono::steady_clock::now();
  for (auto entry = paused_.begin(); entry != paused_.end();) {
    Listener *listener = entry->first;  // not a structured binding: clang cannot capture one
    auto &due = entry->second;
    bool serving = std::any_of(serving_.begin(), serving_.end(),
                               [&](const auto &kept) { return kept.get() == listener; });
    if (serving && due <= now) {
      auto &log = Poco::Logger::get("listener." + listener->config().name);
      try {
        startListener(*listener);
        log.notice("[" + listener->config().section() + "] accepting again after its pause");
        serving = false;
      } catch (const std::exception &error) {  // no thread to be had, say
        log.error(std::string(error.what()) + "; trying again in 1 s");
        due = now + std::chrono::seconds(1);
      }
    }
    if (!serving) {  // started, or a reload replaced or removed it
      entry = paused_.erase(entry);
      continue;
    }
    if (!next || due < *next) next = due;
    ++entry;
  }
  return next;
}

bool ListenerSet::paused(const Listener &listener) const {
  return std::any_of(paused_.begin(), paused_.end(),
                     [&](const auto &entry) { return entry.first == &listener; });
}

std::vector<std::string> ListenerSet::reload(const config::Config &next, plugin::PluginSet &plugins,
                                             const DrainLimits &limits,
                                             const SocketSource &sockets) {
  // Check and load everything; a throw leaves the serving state as it was.
  std::vector<Change> changes;
  for (const auto &config : next.listeners) {
    Change change{&config, nullptr, nullptr, nullptr, nullptr};
    auto plugin = plugins.get(config.pluginPath);
    for (auto &listener : serving_)
      if (listener->config().endpoint.sameAddressAs(config.endpoint))
        change.current = listener.get();
    if (change.current && change.current->config().sameShapeAs(config)) {
      if (!samePlugin(*change.current->current(), *plugin, config))
        change.generation = change.current->prepareGeneration(config, plugin);
      if (config.tls.enabled && !(change.current->tls()->settings() == config.tls))
        change.tls = std::make_shared<const tls::ServerContext>(
            config.tls, change.current->tls()->ticketKeys());
    } else {
      const dispatch::DispatchMode *mode = dispatch::findDispatchMode(config.mode);
      if (mode != nullptr && mode->startsOnlyAtLaunch)  // the master starts new workers instead
        throw ListenerError("listener [" + config.section() + "]: mode " + config.mode +
                            " cannot start in a running worker (its helper process is forked "
                            "before the worker loads plugins or starts threads)");
      change.fresh = std::make_unique<Listener>(config);
      change.fresh->load(plugin);
    }
    changes.push_back(std::move(change));
  }
  for (auto &change : changes) {
    if (!change.fresh) continue;
    if (change.current)
      change.fresh->bind(change.current->socket());
    else
      change.fresh->bind(sockets(*change.config));
  }
  if (serving_.size() > 0) drainQueue_.start();  // a replaced or removed one drains there

  // Start the new listeners and hand the new generations to their
  // dispatchers. A failure (no thread or process to be had, a fork helper
  // gone) stops what was started, and nothing changed.
  std::vector<Listener *> started;
  std::string starting;
  try {
    for (auto &change : changes) {
      starting = "listener [" + change.config->section() + "]: ";
      if (change.fresh) {
        change.fresh->start();
        started.push_back(change.fresh.get());
      }
      if (change.generation) change.current->adopt(*change.generation);
    }
  } catch (const std::exception &error) {
    // Sessions a listener took in this moment are cut: it never served.
    for (Listener *listener : started) {
      listener->handOver();
      listener->cutSessions(session::CutReason::Drain);
      listener->drain();
    }
    // A replacement set its socket options on the socket it shares.
    for (auto &change : changes)
      if (change.fresh && change.current) change.current->deferAccept();
    throw ListenerError(starting + error.what());
  }

  // Commit: nothing here can fail.
  std::vector<std::string> report;
  std::vector<std::unique_ptr<Listener>> serving;
  std::set<Listener *> replaced;
  for (auto &change : changes) {
    std::string name = "[" + change.config->section() + "] ";
    if (change.generation) {
      change.current->install(change.generation, limits, change.config->migration);
      report.push_back(name + change.generation->describe() + " serving");
    }
    if (change.tls) {
      change.current->replaceTls(change.config->tls, std::move(change.tls));
      report.push_back(name + "TLS certificate and settings replaced: new sessions get them");
    }
    if (change.fresh) {
      report.push_back(name +
                       (change.current ? "replaced (mode, limits or name changed): " : "added: ") +
                       change.fresh->current()->describe() + " on " + change.fresh->boundAddress());
      if (change.current) replaced.insert(change.current);
      serving.push_back(std::move(change.fresh));
      continue;
    }
    for (auto &listener : serving_)
      if (listener && listener.get() == change.current) serving.push_back(std::move(listener));
  }
  for (auto &listener : serving_) {
    if (!listener) continue;  // kept
    if (replaced.count(listener.get()) != 0) {
      listener->handOver();
    } else {
      listener->stopAccepting();
      report.push_back("[" + listener->config().section() + "] removed: no longer accepting");
    }
    retire(std::move(listener));
  }
  serving_ = std::move(serving);
  if (report.empty()) report.push_back("no changes");
  return report;
}

void ListenerSet::retire(std::unique_ptr<Listener> listener) {
  drainQueue_.push(listener.get());
  draining_.push_back({std::move(listener), std::chrono::steady_clock::now(), {}});
}

void ListenerSet::enforce(const DrainLimits &limits) {
  for (auto &listener : serving_) listener->generations().enforce(limits);
  auto deadline = std::chrono::steady_clock::now() - limits.drainTimeout;
  for (auto &draining : draining_) {
    if (draining.since > deadline) continue;
    if (auto line = draining.cut.advance(
            std::chrono::steady_clock::now(), "drain_timeout", "sessions of this removed listener",
            [&] { return draining.listener->cutSessions(session::CutReason::Drain); }))
      Poco::Logger::get("listener." + draining.listener->config().name).warning(*line);
  }
  std::erase_if(draining_, [this](const Draining &draining) {
    return drainQueue_.takeDrained(draining.listener.get());
  });
}

void ListenerSet::stopAccepting() {
  for (auto &listener : serving_) listener->stopAccepting();
}

void ListenerSet::drain() {
  for (auto &listener : serving_) listener->drain();
  drainQueue_.finish();
}

size_t ListenerSet::cutSessions(session::CutReason why) {
  size_t cut = 0;
  for (auto &listener : serving_) cut += listener->cutSessions(why);
  for (auto &draining : draining_) cut += draining.listener->cutSessions(why);
  return cut;
}

std::vector<const Listener *> ListenerSet::draining() const {
  std::vector<const Listener *> listeners;
  for (const auto &draining : draining_) listeners.push_back(draining.listener.get());
  return listeners;
}

}  // namespace wharf::listener
