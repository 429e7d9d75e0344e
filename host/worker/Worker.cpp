#include "worker/Worker.h"

#include <Poco/JSON/Array.h>
#include <Poco/Logger.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <thread>

#include "app/ConfigLoading.h"
#include "app/FileWatcher.h"
#include "app/Logging.h"
#include "app/ProcessLimits.h"
#include "app/Signals.h"
#include "control/StatusReport.h"
#include "dispatch/HandoverPackage.h"
#include "logging/LineSink.h"
#include "net/BusyLoops.h"
#include "net/ReflectorPorts.h"
#include "plugin/CrashRecorder.h"
#include "plugin/HostApi.h"
#include "process/CrashPage.h"
#include "process/DescriptorTable.h"
#include "process/Identity.h"
#include "process/ProcessSample.h"
#include "session/CutProgress.h"
#include "session/OutputBudget.h"
#include "worker/PrivilegeDrop.h"
#include "zone/SharedZone.h"

namespace wharf::worker {
namespace {

listener::DrainLimits drainLimitsOf(const config::HostConfig &host) {
  return {host.drainTimeout, host.maxGenerations};
}

// How often drain deadlines are checked.
constexpr auto kEnforcePeriod = std::chrono::milliseconds(250);
// How long a status request waits for the worker's state.
constexpr auto kStatusWait = std::chrono::seconds(3);
constexpr auto kStatusPoll = std::chrono::milliseconds(10);

Poco::Logger &logger() {
  return Poco::Logger::get("worker");
}

// The listeners the master asks to wait after their plugin crashed the
// worker this one replaces (CrashPauses), and for how long.
std::map<std::string, std::chrono::milliseconds> pausesIn(const Poco::JSON::Object &request) {
  std::map<std::string, std::chrono::milliseconds> pauses;
  if (Poco::JSON::Object::Ptr paused = request.getObject("paused"))
    for (const auto &[name, delay] : *paused)
      pauses[name] = std::chrono::milliseconds(delay.convert<int64_t>());
  return pauses;
}

// Descriptor slots a worker makes room for before it serves: a few for its
// own files and links, two per session its listeners admit (a connection and
// what its session may open: an FTP data socket, a blocking session's bell),
// at most 65,536 (about half a megabyte of table); past that the table grows
// as it must.
constexpr size_t kDescriptorsOfItsOwn = 256;
constexpr size_t kDescriptorsPerSession = 2;
constexpr size_t kMostDescriptorsReserved = 65536;

size_t descriptorsToReserve(const config::Config &config) {
  size_t slots = kDescriptorsOfItsOwn;
  for (const auto &listener : config.listeners)
    slots +=
        kDescriptorsPerSession * std::min(listener.limits.maxConnections, kMostDescriptorsReserved);
  return std::min(slots, kMostDescriptorsReserved);
}

}  // namespace

Worker::Worker(std::filesystem::path configFile, net::FileDescriptor channel)
    : configFile_(std::move(configFile)),
      loader_(app::makeConfigLoader()),
      link_(std::move(channel)) {}

Worker::~Worker() = default;

int Worker::run() {
  logging::setFileAccess(logging::FileAccess::Passed);  // the master opens them
  app::configureLogging("information");
  std::map<std::string, MasterLink::Handler> setup;
  setup["serve"] = [this](const Poco::JSON::Object &request, Poco::JSON::Object &) {
    prepare(request);
  };
  if (!link_.answerUntil("serve", setup)) return 2;  // the master has logged why
  serveUntilStopped();
  return 0;
}

config::Config Worker::configIn(const Poco::JSON::Object &request) {
  config::HeldFiles held = link_.takeFiles();
  config::Config config =
      loader_.parse(configFile_, request.getValue<std::string>("config"), &held);
  // Every UDP listener of the daemon, this group's or another's: none may
  // answer another (a loop that would never end).
  for (const auto &listener : config.listeners)
    if (listener.endpoint.transport == net::Transport::Udp)
      net::noteOwnDatagramPort(listener.endpoint.address.port());
  Poco::JSON::Array::Ptr names = request.getArray("listeners");
  std::erase_if(config.listeners, [&](const config::ListenerConfig &listener) {
    for (size_t i = 0; names && i < names->size(); ++i)
      if (names->getElement<std::string>(static_cast<unsigned>(i)) == listener.name) return false;
    return true;
  });
  return config;
}

std::shared_ptr<net::ListenSocket> Worker::socketFor(const config::ListenerConfig &config,
                                                     net::ListenSocket::Role role) {
  net::FileDescriptor socket = link_.takeSocket(config.name);
  if (!socket.valid())
    throw std::runtime_error("listener [" + config.section() +
                             "]: the master passed no socket for it");
  return std::make_shared<net::ListenSocket>(config.endpoint, std::move(socket), role);
}

void Worker::prepare(const Poco::JSON::Object &request) {
  // Before anything is forked: the fork helpers never get its descriptor.
  plugin::recordCrashesIn(process::mapCrashPage(process::kCrashPageFd));
  config_ = configIn(request);
  // An upgrade's rehearsal (master/Upgrade.h): everything but serving, on
  // sockets others serve on; its lines go to the rehearsing master's
  // stderr, no log file is touched.
  bool rehearsal = request.optValue<bool>("rehearsal", false);
  if (rehearsal) logging::setFileAccess(logging::FileAccess::Discard);
  app::configureLogging(config_.host.logLevel, rehearsal ? "stderr" : config_.host.log);
  session::OutputBudget::process().setLimit(config_.host.outputBudget);
  // An isolated listener's own user, else [host]'s (the listeners that share
  // a worker have no user of their own).
  config::WorkersUser user = config_.listeners.empty()
                                 ? config_.host.workersUser()
                                 : config_.workersUserOf(config_.listeners.front());
  dropPrivileges(user.user, user.group);
  setDumpable(config_.host.coreDumps);
  // Grown later, with threads running, each doubling of the table would stall
  // an accept or a moved session's arrival 10 to 20 ms (DescriptorTable.h).
  process::reserveDescriptorSlots(descriptorsToReserve(config_));
  // mode = fork's helpers are forked in bind(), before any plugin code runs
  // here: a plugin may start threads, and a lock one of them held at the
  // fork would stay held in the helper for good.
  listeners_.open(config_);
  auto role = rehearsal ? net::ListenSocket::Role::Observer : net::ListenSocket::Role::Shared;
  listeners_.bind(
      [this, role](const config::ListenerConfig &config) { return socketFor(config, role); });
  listeners_.load(plugins_);
  logger().information(app::raiseOpenFileLimit());
  // Serving before the answer goes back: the master's "ready" means it.
  std::lock_guard lock(mutex_);
  if (!rehearsal) {
    listeners_.start(pausesIn(request));
    nextResume_ = listeners_.resumePaused();
    updateWatcher();
  }
  for (const auto &listener : listeners_.serving()) {
    const auto &config = listener->config();
    const auto &plugin = listener->current()->instance().plugin();
    logger().information(
        "[" + config.section() + "] " + std::string(net::transportName(config.endpoint.transport)) +
        " " + listener->boundAddress() + " mode " + config.mode + ", plugin " + plugin.name() +
        " " + plugin.version() + " (" + plugin.file().string() + ")");
  }
  logger().information("serving " + std::to_string(listeners_.serving().size()) + " listeners as " +
                       process::currentUserName());
  answerMaster();  // before the answer, too: once the master says "ready", every thread runs
}

std::vector<std::string> Worker::reload(const Poco::JSON::Object *request) {
  std::lock_guard lock(mutex_);
  try {
    if (stopping_) throw std::runtime_error("the worker is stopping");
    config::Config next = request ? configIn(*request) : config_;
    auto changes = listeners_.reload(next, plugins_, drainLimitsOf(next.host),
                                     [this](const config::ListenerConfig &config) {
                                       return socketFor(config, net::ListenSocket::Role::Shared);
                                     });
    if (next.host.logLevel != config_.host.logLevel) app::setLogLevel(next.host.logLevel);
    config_ = std::move(next);
    session::OutputBudget::process().setLimit(config_.host.outputBudget);
    updateWatcher();
    for (const auto &change : changes) logger().notice("reload: " + change);
    return changes;
  } catch (const std::exception &error) {
    link_.dropUntakenSockets();
    logger().error(std::string("reload refused, nothing changed: ") + error.what());
    throw;
  }
}

void Worker::reportStatus(Poco::JSON::Object &reply) {
  // The channel's thread answers heartbeats too: a status must not hold it
  // for as long as a reload of the worker's own (watch = true) may take.
  // Polled rather than std::timed_mutex: GCC 12's ThreadSanitizer does not
  // see the pthread_mutex_clocklock that one uses, and reports its unlock.
  std::unique_lock lock(mutex_, std::defer_lock);
  for (auto waited = std::chrono::milliseconds(0); !lock.try_lock(); waited += kStatusPoll) {
    if (waited >= kStatusWait)
      throw std::runtime_error("busy: a reload or shutdown of its own holds it");
    std::this_thread::sleep_for(kStatusPoll);
  }
  control::reportStatus(listeners_, reply);
  reply.set("user", process::currentUserName());
  Poco::JSON::Object::Ptr sample = process::sampleThisProcess();
  sample->set("plugin_stale_handles", plugin::staleHandleUses());
  reply.set("process", sample);
}

void Worker::updateWatcher() {
  if (!config_.host.watch) {
    watcher_.reset();
    return;
  }
  std::vector<std::filesystem::path> files;
  for (const auto &listener : config_.listeners) files.push_back(listener.pluginPath);
  if (watcher_ && watcher_->files() == files) return;
  watcher_ = std::make_unique<app::FileWatcher>(files, [this] { pluginsChanged_ = true; });
}

void Worker::answerMaster() {
  std::map<std::string, MasterLink::Handler> requests;
  requests["status"] = [this](const Poco::JSON::Object &, Poco::JSON::Object &reply) {
    reportStatus(reply);
  };
  requests["reload"] = [this](const Poco::JSON::Object &request, Poco::JSON::Object &reply) {
    Poco::JSON::Array::Ptr changes = new Poco::JSON::Array;
    for (const auto &change : reload(&request)) changes->add(change);
    reply.set("changes", changes);
  };
  // Answered once no event loop here has been stuck in one batch of events
  // for half of worker_timeout; the master kills a worker that stays silent.
  requests["heartbeat"] = [](const Poco::JSON::Object &request, Poco::JSON::Object &reply) {
    Poco::JSON::Array::Ptr busy = new Poco::JSON::Array;
    for (const auto &loop : net::busyLoops(
             std::chrono::milliseconds(request.optValue<int64_t>("busy_limit_ms", 10000))))
      busy->add(loop);
    reply.set("busy", busy);
  };
  requests["log_files_passed"] = [](const Poco::JSON::Object &, Poco::JSON::Object &) {
    logger().information("log files reopened by the master: writing to the new ones");
  };
  // Answered once the session ticket keys passed before it are in use (the
  // link takes its messages in order): a rotation is over when every worker
  // has answered.
  requests["ticket_keys_in_use"] = [](const Poco::JSON::Object &, Poco::JSON::Object &) {};
  // With a link attached ("hand_over"), the sessions of migrate = on move
  // to the worker at its other end while the others drain.
  requests["retire"] = [this](const Poco::JSON::Object &request, Poco::JSON::Object &) {
    retired_ = true;
    net::FileDescriptor handover = link_.takeRequestSocket();
    if (handover.valid() && request.optValue<bool>("hand_over", false))
      handOverSessions(std::move(handover), request.optValue<pid_t>("to_pid", 0));
    ::kill(::getpid(), SIGTERM);
  };
  requests["adopt_sessions"] = [this](const Poco::JSON::Object &, Poco::JSON::Object &) {
    net::FileDescriptor handover = link_.takeRequestSocket();
    if (!handover.valid()) throw std::runtime_error("no link to a retiring worker came with it");
    adoptSessions(std::move(handover));
  };
  link_.answerInBackground(std::move(requests));
}

void Worker::handOverSessions(net::FileDescriptor end, pid_t to) {
  auto link = std::make_shared<dispatch::HandoverLink>(std::move(end));
  std::map<std::string, dispatch::Dispatcher *> handing;
  std::lock_guard lock(mutex_);
  for (const auto &listener : listeners_.serving()) {
    dispatch::Dispatcher *dispatcher = listener->dispatcher();
    if (dispatcher != nullptr &&
        dispatcher->handOverSessions(link, to, listener->config().migration.timeout))
      handing[listener->config().name] = dispatcher;
  }
  if (handing.empty()) return;  // the link closes: the other worker sees it
  link->start([handing](Poco::JSON::Object::Ptr answer, net::FileDescriptor) {
    if (!answer) {
      for (const auto &[name, dispatcher] : handing) dispatcher->handOverAnswered(nullptr);
      return;
    }
    auto found = handing.find(answer->optValue<std::string>("listener", ""));
    if (found != handing.end()) found->second->handOverAnswered(answer);
  });
  handoverLinks_.push_back(std::move(link));
}

void Worker::adoptSessions(net::FileDescriptor end) {
  auto link = std::make_shared<dispatch::HandoverLink>(std::move(end));
  std::weak_ptr<dispatch::HandoverLink> weak = link;
  link->start([this, weak](Poco::JSON::Object::Ptr package, net::FileDescriptor connection) {
    std::shared_ptr<dispatch::HandoverLink> self = weak.lock();
    if (!package || !self) return;
    std::string name = package->optValue<std::string>("listener", "");
    {
      std::lock_guard lock(mutex_);
      for (const auto &listener : listeners_.serving())
        if (listener->config().name == name && listener->dispatcher() != nullptr &&
            listener->dispatcher()->adoptSession(package, connection, self))
          return;
    }
    // `connection` is closed, not shut down: it stays the retiring worker's.
    self->send(dispatch::refusedAnswer(
        name, package->optValue<uint64_t>("id", 0),
        "no listener '" + name + "' with migrate = on that takes sessions here"));
  });
  std::lock_guard lock(mutex_);
  handoverLinks_.push_back(std::move(link));
}

void Worker::serveUntilStopped() {
  for (;;) {
    auto wait = kEnforcePeriod;
    if (nextResume_)
      wait = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(
                            *nextResume_ - std::chrono::steady_clock::now()),
                        std::chrono::milliseconds(1), wait);
    int signal = app::waitForSignal(wait);
    if (signal == 0 && pluginsChanged_.exchange(false)) {
      logger().notice("a plugin file was replaced: reloading plugins");
      try {
        reload(nullptr);
      } catch (const std::exception &) {
        // logged by reload(); the old state keeps serving
      }
    } else if (signal == 0) {
      std::lock_guard lock(mutex_);
      listeners_.enforce(drainLimitsOf(config_.host));
      nextResume_ = listeners_.resumePaused();
    } else if (signal == SIGTERM || signal == SIGINT || signal == SIGQUIT) {
      return stop(signal);
    }  // SIGHUP, SIGUSR1 (it passes reopened log files) and the others are the master's
  }
}

// Stops accepting everywhere, then lets sessions finish. They are cut when
// shutdown_timeout passes, or at once on SIGQUIT (first or later). A second
// SIGTERM does not cut here, unlike in the master: `killall wharfd` sends
// one to the worker and one to the master, which forwards its own.
void Worker::stop(int signal) {
  zone::SharedZone::keepNames();  // for the workers that replace this one
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    watcher_.reset();
    listeners_.stopAccepting();
  }
  auto timeout = retired_ ? config_.host.drainTimeout : config_.host.shutdownTimeout;
  logger().notice((retired_ ? std::string("replaced by new workers")
                            : std::string("signal ") + strsignal(signal)) +
                  ": no longer accepting; " +
                  (signal == SIGQUIT ? "closing sessions now"
                                     : "letting sessions finish for up to " +
                                           std::to_string(timeout.count()) + " ms"));
  std::atomic<bool> drained = false;
  std::thread drainer([&] {
    listeners_.drain();
    drained = true;
  });
  auto deadline = std::chrono::steady_clock::now() + timeout;
  session::CutProgress cut;
  const char *reason = nullptr;
  while (!drained) {
    int next = signal == SIGQUIT ? SIGQUIT : app::waitForSignal(std::chrono::milliseconds(50));
    signal = 0;
    auto now = std::chrono::steady_clock::now();
    if (reason == nullptr)
      reason = next == SIGQUIT  ? strsignal(next)
               : now < deadline ? nullptr
               : retired_       ? "drain_timeout"
                                : "shutdown_timeout";
    if (reason == nullptr) continue;
    if (auto line = cut.advance(now, reason, "remaining sessions", [this] {
          return listeners_.cutSessions(session::CutReason::Shutdown);
        }))
      logger().warning(*line);
  }
  drainer.join();
  logger().notice("stopped");
}

}  // namespace wharf::worker
