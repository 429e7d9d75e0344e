#include "master/WorkerSet.h"

#include <Poco/Logger.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <map>
#include <random>
#include <stdexcept>
#include <string_view>

#include "config/ConfigLoader.h"
#include "logging/PrintableText.h"
#include "process/ProcessSample.h"

namespace wharf::master {
namespace {

// Loading plugins may take a while (sanitizer builds on a loaded machine).
constexpr std::chrono::seconds kStartTimeout{60};
constexpr std::chrono::seconds kStatusTimeout{10};
// How long a rotation of session ticket keys waits for all the workers to take them.
constexpr std::chrono::seconds kTicketKeysWait{2};

Poco::Logger &logger() {
  return Poco::Logger::get("master");
}

std::string describeExit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")" + (WCOREDUMP(status) ? ", core dumped" : "");
  return "ended (status " + std::to_string(status) + ")";
}

// The hook `worker` died in, as it wrote it on its crash page; only a
// listener of its group is taken from there (its plugins can write the page).
std::optional<process::CrashRecord> hookDiedIn(const WorkerProcess &worker,
                                               const WorkerGroup &group) {
  auto crash = worker.crashRecord();
  if (crash && std::find(group.listeners.begin(), group.listeners.end(), crash->listener) ==
                   group.listeners.end())
    crash.reset();
  return crash;
}

// How many processes of a worker's cgroup memory_limit checks each tick.
constexpr size_t kMemorySample = 64;

// At most `size` of `all`, at random.
std::vector<pid_t> sampleOf(std::vector<pid_t> all, size_t size) {
  if (all.size() <= size) return all;
  static std::minstd_rand random(static_cast<unsigned>(::getpid()));
  std::shuffle(all.begin(), all.end(), random);
  all.resize(size);
  return all;
}

// " in [LISTENER] HOOK", for the log line of a worker's death.
std::string inHook(const process::CrashRecord &crash) {
  return " in [" + crash.listener + "] " + logging::printable(crash.hook);
}

}  // namespace

// A worker is the leader of its own process group (WorkerProcess): what its
// plugins started there (a forked helper, a daemon) goes with it, rather
// than outliving wharfd. Right after the reap, while any such process lives
// the group's id cannot be reused. Its cgroup also holds what left the group.
void WorkerSet::endLeftovers(const WorkerProcess &worker) const {
  ::kill(-worker.pid(), SIGKILL);
  if (cgroups_ && worker.cgroup()) cgroups_->end(*worker.cgroup());
}

int WorkerSet::killAndReap(WorkerProcess &worker) const {
  worker.signal(SIGKILL);
  int status = 0;
  while (::waitpid(worker.pid(), &status, 0) < 0 && errno == EINTR) {
  }
  endLeftovers(worker);
  return status;
}

std::vector<WorkerGroup> workerGroupsOf(const config::Config &config) {
  std::vector<WorkerGroup> groups;
  WorkerGroup shared{"main", {}, config.host.workersUser()};
  for (const auto &listener : config.listeners) {
    if (listener.isolate)
      groups.push_back({listener.name, {listener.name}, config.workersUserOf(listener)});
    else
      shared.listeners.push_back(listener.name);
  }
  if (!shared.listeners.empty()) groups.insert(groups.begin(), std::move(shared));
  return groups;
}

WorkerSet::WorkerSet(std::filesystem::path binary, WorkerCgroups *cgroups,
                     const TicketKeyRing &ticketKeys, config::Config config, std::string configText,
                     SocketSet sockets)
    : binary_(std::move(binary)),
      cgroups_(cgroups),
      ticketKeys_(ticketKeys),
      config_(std::move(config)),
      configText_(std::move(configText)),
      sockets_(std::move(sockets)),
      logFiles_(config_),
      groups_(workerGroupsOf(config_)) {
  for (size_t group = 0; group < groups_.size(); ++group)
    for (size_t i = 0; i < config_.host.workers; ++i)
      slots_.push_back(Slot{group, nullptr, 0, 0, {}, std::nullopt});
}

WorkerSet::WorkerSet(std::filesystem::path binary, WorkerCgroups *cgroups,
                     const TicketKeyRing &ticketKeys, config::Config config, std::string configText,
                     SocketSet sockets, std::vector<std::unique_ptr<WorkerProcess>> running)
    : binary_(std::move(binary)),
      cgroups_(cgroups),
      ticketKeys_(ticketKeys),
      config_(std::move(config)),
      configText_(std::move(configText)),
      sockets_(std::move(sockets)),
      logFiles_(config_),
      groups_(workerGroupsOf(config_)) {
  for (auto &process : running) {
    if (cgroups_) process->setCgroup(cgroups_->adopt(process->pid()));
    size_t group = 0;
    while (group < groups_.size() && groups_[group].name != process->group()) ++group;
    if (group == groups_.size()) groups_.push_back({process->group(), {}, {}});
    slots_.push_back(Slot{group, std::move(process), 0, 0, {}, std::nullopt});
  }
}

std::vector<const WorkerProcess *> WorkerSet::running() const {
  std::vector<const WorkerProcess *> processes;
  for (const auto &slot : slots_)
    if (slot.process) processes.push_back(slot.process.get());
  return processes;
}

WorkerSet::~WorkerSet() {
  for (auto &slot : slots_)
    if (slot.process) killAndReap(*slot.process);
}

std::unique_ptr<WorkerProcess> WorkerSet::launch(const WorkerGroup &group) const {
  auto worker = std::make_unique<WorkerProcess>(WorkerLaunch{binary_, config_.file, group.name});
  // Before it is asked to load any plugin: none runs outside its cgroup.
  if (cgroups_) worker->setCgroup(cgroups_->place(worker->pid()));
  return worker;
}

Poco::JSON::Object WorkerSet::requestFor(const char *command, const WorkerGroup &group) const {
  Poco::JSON::Object request;
  request.set("command", std::string(command));
  request.set("config", configText_);
  Poco::JSON::Array::Ptr names = new Poco::JSON::Array;
  for (const auto &name : group.listeners) names->add(name);
  request.set("listeners", names);
  if (std::string_view(command) == "serve")
    request.set("paused", pauses_.remaining(group.listeners));
  if (rehearsal_) request.set("rehearsal", true);
  return request;
}

// The group's TLS certificates and keys, read by the master (as root): the
// workers' user need not be able to read them, and no other group gets them.
void WorkerSet::passHeldFiles(WorkerProcess &worker, const WorkerGroup &group) const {
  for (const auto &[path, contents] : config_.heldFiles(group.listeners))
    worker.passFile(path, contents);
}

bool WorkerSet::passTicketKeys(WorkerProcess &worker,
                               const std::vector<std::string> &listeners) const {
  bool passed = false;
  for (const auto &name : listeners)
    if (std::string keys = ticketKeys_.passedForm(name); !keys.empty()) {
      worker.passTicketKeys(name, keys);
      passed = true;
    }
  return passed;
}

void WorkerSet::passTicketKeys(const std::vector<std::string> &listeners) const {
  Poco::JSON::Object inUse;
  inUse.set("command", std::string("ticket_keys_in_use"));
  std::vector<std::pair<WorkerProcess *, int64_t>> asked;
  for (const auto &slot : slots_) {
    if (!slot.process) continue;  // its replacement starts with the keys
    std::vector<std::string> served;
    for (const auto &name : groups_[slot.group].listeners)
      if (std::find(listeners.begin(), listeners.end(), name) != listeners.end())
        served.push_back(name);
    try {
      if (passTicketKeys(*slot.process, served))
        asked.emplace_back(slot.process.get(), slot.process->post(inUse));
    } catch (const std::exception &error) {
      logger().warning(std::string("session ticket keys: ") + error.what());
    }
  }
  // One short deadline for them all: a worker that does not answer (stopped,
  // stuck in plugin code) holds the master's loop no longer than this, and
  // the next key, which every worker has ahead, opens its tickets meanwhile.
  auto deadline = std::chrono::steady_clock::now() + kTicketKeysWait;
  for (const auto &[worker, id] : asked) {
    try {
      worker->await(id, std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now()),
                                 std::chrono::milliseconds(0)));
    } catch (const std::exception &error) {
      logger().warning(std::string("session ticket keys: ") + error.what());
    }
  }
}

int64_t WorkerSet::setUp(WorkerProcess &worker, const WorkerGroup &group) const {
  for (const auto &name : group.listeners) worker.passSocket(name, sockets_.of(name)->fd());
  logFiles_.passTo(worker, group.listeners);
  passHeldFiles(worker, group);
  passTicketKeys(worker, group.listeners);
  return worker.post(requestFor("serve", group));
}

void WorkerSet::rehearse() {
  rehearsal_ = true;
  start();
}

void WorkerSet::reapExited() {
  for (auto &slot : slots_) {
    int status = 0;
    if (slot.process && ::waitpid(slot.process->pid(), &status, WNOHANG) == slot.process->pid())
      reaped(slot.process->pid(), status);
  }
}

void WorkerSet::start() {
  // All start at once; then each is awaited.
  std::vector<int64_t> requests;
  for (auto &slot : slots_) {
    slot.process = launch(groups_[slot.group]);
    requests.push_back(setUp(*slot.process, groups_[slot.group]));
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    try {
      slots_[i].process->await(requests[i], kStartTimeout);
    } catch (const std::exception &error) {
      throw std::runtime_error("worker " + std::to_string(slots_[i].process->pid()) + " (" +
                               groups_[slots_[i].group].name + ") did not start: " + error.what());
    }
  }
}

std::vector<std::string> WorkerSet::reload(config::Config next, std::string nextText,
                                           SocketSet nextSockets, const SocketSet &before) {
  LogFileSet nextFiles(next);  // a file that cannot be opened refuses the reload here
  std::swap(logFiles_, nextFiles);
  std::swap(config_, next);
  std::swap(configText_, nextText);
  std::swap(sockets_, nextSockets);
  groups_ = workerGroupsOf(config_);  // the same groups, with the listeners of `next`
  std::vector<std::string> changes;
  bool first = true;
  for (auto &slot : slots_) {
    if (!slot.process) continue;  // its replacement starts with the new config
    try {
      for (const auto &name : groups_[slot.group].listeners)
        if (sockets_.isNew(name, before)) slot.process->passSocket(name, sockets_.of(name)->fd());
      logFiles_.passTo(*slot.process, groups_[slot.group].listeners);
      passHeldFiles(*slot.process, groups_[slot.group]);
      passTicketKeys(*slot.process, groups_[slot.group].listeners);  // a listener added, say
      auto reply =
          slot.process->ask(requestFor("reload", groups_[slot.group]), config_.host.reloadTimeout);
      if (first) {
        Poco::JSON::Array::Ptr lines = reply->getArray("changes");
        for (size_t i = 0; lines && i < lines->size(); ++i)
          changes.push_back(lines->getElement<std::string>(static_cast<unsigned>(i)));
      }
    } catch (const std::exception &error) {
      std::string worker =
          "worker " + std::to_string(slot.process->pid()) + " (" + groups_[slot.group].name + ")";
      bool silent = dynamic_cast<const WorkerSilent *>(&error) != nullptr;
      std::string why = silent ? worker + " did not apply it within " +
                                     std::to_string(config_.host.reloadTimeout.count()) +
                                     " ms (reload_timeout): killed, a new worker replaces it"
                               : worker + " refused it: " + error.what();
      // Stuck in plugin code (an on_instance_new that never returns): its
      // replacement starts with the config this set then holds.
      if (silent) slot.process->signal(SIGKILL);
      if (first) {  // nothing changed anywhere: keep serving what was
        std::swap(logFiles_, nextFiles);
        std::swap(config_, next);
        std::swap(configText_, nextText);
        std::swap(sockets_, nextSockets);
        groups_ = workerGroupsOf(config_);
        if (!silent) throw;
        throw std::runtime_error(why);
      }
      throw std::runtime_error("reload partly applied: " + why);
    }
    first = false;
  }
  return changes;
}

bool WorkerSet::reaped(pid_t pid, int status) {
  for (auto &slot : slots_) {
    if (!slot.process || slot.process->pid() != pid) continue;
    auto uptime = slot.process->uptime();
    const WorkerGroup &group = groups_[slot.group];
    std::string what = "worker " + std::to_string(pid) + " (" + group.name + ", serving " +
                       config::joined(group.listeners) + ") " + describeExit(status);
    // Killed by the master (heartbeat, memory_limit): whatever hook it was in
    // is not the cause, and pauses no listener.
    auto crash = slot.process->givenUp() ? std::nullopt : hookDiedIn(*slot.process, group);
    if (crash) what += inHook(*crash);
    if (WIFSIGNALED(status)) slot.lastSignal = WTERMSIG(status);
    endLeftovers(*slot.process);
    slot.process.reset();
    if (retired_) {
      logger().information(what);
      return true;
    }
    if (crash && believedSessionCrash(*crash, uptime)) {
      replaceAfterSessionCrash(slot, what, *crash, uptime);
      return true;
    }
    if (crash && crash->forSession) what += " (not believed: it was not accepting)";
    auto delay = slot.backoff.next(uptime);
    slot.replaceAt = Clock::now() + delay;
    if (delay.count() == 0)
      logger().error(what + "; replacing it now");
    else
      logger().error(what + " after " + std::to_string(uptime.count()) +
                     " ms; crash loop: replacing it in " + std::to_string(delay.count()) + " ms");
    return true;
  }
  return false;
}

bool WorkerSet::believedSessionCrash(const process::CrashRecord &crash,
                                     std::chrono::milliseconds uptime) const {
  return crash.forSession && pauses_.accepted(crash.listener, uptime);
}

void WorkerSet::replaceAfterSessionCrash(Slot &slot, const std::string &what,
                                         const process::CrashRecord &crash,
                                         std::chrono::milliseconds uptime) {
  auto pause = pauses_.crashed(crash.listener, uptime);
  slot.replaceAt = Clock::now();
  logger().error(what + "; replacing it now" +
                 (pause.count() == 0 ? std::string()
                                     : ", with [" + crash.listener + "] paused for " +
                                           std::to_string(pause.count()) + " ms (crash loop)"));
}

void WorkerSet::enforceMemoryLimit() {
  const std::optional<size_t> &limit = config_.host.memoryLimit;
  if (!limit) return;
  auto mebibytes = [](size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; };
  for (auto &slot : slots_) {
    if (!slot.process || slot.process->givenUp()) continue;
    WorkerProcess &worker = *slot.process;
    auto held = process::memoryHeldBy(worker.pid());
    if (!held && !unreadableMemoryTold_ &&
        ::access(("/proc/" + std::to_string(worker.pid()) + "/status").c_str(), R_OK) != 0) {
      // /proc mounted with hidepid, and a master that kept no CAP_SYS_PTRACE:
      // the limit would silently hold nothing.
      unreadableMemoryTold_ = true;
      logger().warning("memory_limit: cannot read /proc/" + std::to_string(worker.pid()) +
                       "/status (is /proc mounted with hidepid?); the limit is not enforced");
    }
    if (held && *held > *limit) {
      logger().error(worker.name() + " holds " + mebibytes(*held) + ", past memory_limit (" +
                     mebibytes(*limit) + "); killing it" +
                     (retired_ ? "" : ", a new worker replaces it"));
      worker.giveUp();
      worker.signal(SIGKILL);
      continue;
    }
    if (!worker.cgroup()) continue;
    // Each other process of its cgroup (a fork session, what a plugin
    // started) is held to the limit too, alone: not their sum, which counts
    // twice the pages a fork shares with its parent. At most a sample of them
    // each tick, so that a plugin's thousand processes cannot keep the
    // master reading.
    const process::Cgroup &cgroup = *worker.cgroup();
    for (pid_t pid : sampleOf(cgroup.processes(), kMemorySample)) {
      if (pid == worker.pid()) continue;  // read above
      auto held = process::memoryHeldBy(pid);
      if (!held || *held <= *limit || !cgroup.kill(pid)) continue;
      logger().error(worker.name() + ": process " + std::to_string(pid) + " of its cgroup holds " +
                     mebibytes(*held) + ", past memory_limit (" + mebibytes(*limit) +
                     "); killed it");
    }
  }
}

bool WorkerSet::checkHeartbeats() {
  bool allInTouch = true;
  auto timeout = config_.host.workerTimeout;
  for (auto &slot : slots_) {
    if (retired_ || !slot.process || slot.process->givenUp()) continue;
    WorkerProcess &worker = *slot.process;
    bool channelSound = worker.keepInTouch(timeout / 2);
    auto silence = worker.silence();
    if (channelSound && silence < timeout) continue;
    allInTouch = false;
    std::string what = worker.name() + " ";
    what += channelSound
                ? "has not answered for " + std::to_string(silence.count()) + " ms (worker_timeout)"
                : "closed or garbled its channel to the master";
    if (!worker.lastBusy().empty()) what += ": " + worker.lastBusy();
    logger().error(what + "; killing it, a new worker replaces it");
    worker.giveUp();
    worker.signal(SIGKILL);
  }
  return allInTouch;
}

std::optional<WorkerSet::Clock::time_point> WorkerSet::replaceDue() {
  std::optional<Clock::time_point> next;
  for (auto &slot : slots_) {
    if (retired_ || !slot.replaceAt) continue;
    if (*slot.replaceAt > Clock::now()) {
      if (!next || *slot.replaceAt < *next) next = slot.replaceAt;
      continue;
    }
    slot.replaceAt.reset();
    ++slot.restarts;
    std::unique_ptr<WorkerProcess> worker;
    try {
      worker = launch(groups_[slot.group]);
      worker->await(setUp(*worker, groups_[slot.group]), kStartTimeout);
      logger().notice("worker " + std::to_string(worker->pid()) + " (" + groups_[slot.group].name +
                      ") serving in place of the one that died (restart " +
                      std::to_string(slot.restarts) + ")");
      slot.process = std::move(worker);
    } catch (const std::exception &error) {
      std::string ended = worker ? " (" + describeExit(killAndReap(*worker)) + ")" : "";
      // A queued request that crashes a session hook may come before "ready".
      if (auto crash = worker ? hookDiedIn(*worker, groups_[slot.group]) : std::nullopt;
          crash && believedSessionCrash(*crash, worker->uptime())) {
        replaceAfterSessionCrash(
            slot,
            std::string("replacing a worker failed: ") + error.what() + ended + inHook(*crash),
            *crash, worker->uptime());
        if (!next || *slot.replaceAt < *next) next = slot.replaceAt;
        continue;
      }
      auto delay = slot.backoff.next(std::chrono::milliseconds(0));
      slot.replaceAt = Clock::now() + delay;
      logger().error(std::string("replacing a worker failed: ") + error.what() + ended +
                     "; crash loop: replacing it in " + std::to_string(delay.count()) + " ms");
      if (!next || *slot.replaceAt < *next) next = slot.replaceAt;
    }
  }
  return next;
}

bool WorkerSet::migratesSessions(const WorkerGroup &group) const {
  for (const auto &listener : config_.listeners)
    if (listener.migration.enabled &&  // a key of the modes whose sessions migrate
        net::isStream(listener.endpoint.transport) &&
        std::find(group.listeners.begin(), group.listeners.end(), listener.name) !=
            group.listeners.end())
      return true;
  return false;
}

WorkerProcess *WorkerSet::servingGroup(const std::string &name, size_t turn) const {
  std::vector<WorkerProcess *> serving;
  for (const auto &slot : slots_)
    if (slot.process && !slot.process->givenUp() && groups_[slot.group].name == name)
      serving.push_back(slot.process.get());
  return serving.empty() ? nullptr : serving[turn % serving.size()];
}

process::Channel WorkerSet::linkToSuccessor(const WorkerGroup &group, WorkerSet &successor,
                                            size_t turn, Poco::JSON::Object &retire) const {
  WorkerProcess *to = successor.servingGroup(group.name, turn);
  if (to == nullptr) return {};
  Poco::JSON::Object adopt;
  adopt.set("command", std::string("adopt_sessions"));
  process::Channel ours;
  try {
    auto [mine, theirs] = process::Channel::pair();
    to->ask(adopt, kStatusTimeout, theirs.fd());
    ours = std::move(mine);
  } catch (const std::exception &error) {
    logger().warning(std::string("moving sessions to new workers: ") + error.what() +
                     "; they drain in the old ones");
    return {};
  }
  retire.set("hand_over", true);
  retire.set("to_pid", static_cast<int>(to->pid()));
  return ours;
}

size_t WorkerSet::retire(WorkerSet *successor) {
  stop(0);
  size_t linked = 0;
  std::map<std::string, size_t> turns;  // per group: the successor's workers in turn
  for (auto &slot : slots_) {
    if (!slot.process) continue;
    Poco::JSON::Object request;
    request.set("command", std::string("retire"));
    const WorkerGroup &group = groups_[slot.group];
    process::Channel handover;
    if (successor != nullptr && migratesSessions(group))
      handover = linkToSuccessor(group, *successor, turns[group.name]++, request);
    try {
      slot.process->ask(request, kStatusTimeout, handover.valid() ? handover.fd() : -1);
      if (handover.valid()) ++linked;
    } catch (const std::exception &error) {
      logger().warning(std::string("retiring: ") + error.what() + "; stopping it");
      slot.process->signal(SIGTERM);
    }
  }
  return linked;
}

void WorkerSet::stop(int signal) {
  retired_ = true;
  for (auto &slot : slots_) slot.replaceAt.reset();
  if (signal != 0) signalAll(signal);
}

void WorkerSet::signalAll(int signal) const {
  for (const auto &slot : slots_)
    if (slot.process) slot.process->signal(signal);
}

void WorkerSet::passLogFiles() const {
  Poco::JSON::Object reopened;  // not awaited: the worker logs that it took them
  reopened.set("command", std::string("log_files_passed"));
  for (const auto &slot : slots_) {
    if (!slot.process) continue;
    try {
      logFiles_.passTo(*slot.process, groups_[slot.group].listeners);
      slot.process->post(reopened);
    } catch (const std::exception &error) {
      logger().warning(error.what());  // it has gone: its replacement gets them at start
    }
  }
}

bool WorkerSet::finished() const {
  if (!retired_) return false;
  for (const auto &slot : slots_)
    if (slot.process) return false;
  return true;
}

void WorkerSet::report(Poco::JSON::Array &workers, std::vector<Poco::JSON::Object::Ptr> &statuses,
                       const char *state) const {
  for (const auto &slot : slots_) {
    Poco::JSON::Object::Ptr entry = new Poco::JSON::Object;
    entry->set("group", groups_[slot.group].name);
    entry->set("restarts", slot.restarts);
    if (slot.lastSignal) entry->set("last_signal", slot.lastSignal);
    entry->set("state", std::string(slot.process ? state : "replacing"));
    // Every entry has the same keys, a slot being replaced too (null pid, no
    // uptime), so a reader's schema never changes under it.
    entry->set("pid", Poco::Dynamic::Var());
    entry->set("uptime_ms", 0);
    if (slot.process) {
      entry->set("pid", static_cast<int>(slot.process->pid()));
      entry->set("uptime_ms", static_cast<int64_t>(slot.process->uptime().count()));
      try {
        Poco::JSON::Object request;
        request.set("command", std::string("status"));
        auto status = slot.process->ask(request, kStatusTimeout);
        entry->set("user", status->optValue<std::string>("user", ""));
        entry->set("version", status->optValue<std::string>("version", ""));
        // Read like any input: a plugin can write on its worker's channel.
        if (Poco::JSON::Object::Ptr process = status->getObject("process"))
          entry->set("process", process);
        statuses.push_back(status);
      } catch (const std::exception &error) {
        entry->set("error", std::string(error.what()));
      }
    }
    workers.add(entry);
  }
}

}  // namespace wharf::master
