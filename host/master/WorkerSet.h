// Internal. The workers that serve one config: `[host] workers` processes
// for each group of listeners (the listeners marked `isolate` each form a
// group of their own; all others share the group "main"). A worker that
// dies in a plugin's hook is replaced at once, and that hook's listener
// waits in the replacement (CrashPauses); one that dies otherwise is
// replaced after the delay CrashBackoff gives for its slot.
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/Config.h"
#include "master/CrashBackoff.h"
#include "master/CrashPauses.h"
#include "master/LogFileSet.h"
#include "master/SocketSet.h"
#include "master/TicketKeyRing.h"
#include "master/WorkerCgroups.h"
#include "master/WorkerProcess.h"

namespace wharf::master {

struct WorkerGroup {
  std::string name;
  std::vector<std::string> listeners;
  config::WorkersUser user;  // who its workers run as

  bool operator==(const WorkerGroup &) const = default;
};

std::vector<WorkerGroup> workerGroupsOf(const config::Config &config);

class WorkerSet {
 public:
  using Clock = std::chrono::steady_clock;

  // `config` and its text (what the workers parse), and its sockets; each
  // worker in a cgroup of its own from `cgroups` (the master's; none where
  // it has none), given its listeners' session ticket keys from
  // `ticketKeys` (the master's, which outlives the set). Opens the log files
  // it names; throws std::system_error naming one that fails.
  WorkerSet(std::filesystem::path binary, WorkerCgroups *cgroups, const TicketKeyRing &ticketKeys,
            config::Config config, std::string configText, SocketSet sockets);
  // Workers already running (handed over by a binary upgrade), one slot each.
  WorkerSet(std::filesystem::path binary, WorkerCgroups *cgroups, const TicketKeyRing &ticketKeys,
            config::Config config, std::string configText, SocketSet sockets,
            std::vector<std::unique_ptr<WorkerProcess>> running);
  ~WorkerSet();  // kills the workers still running (a set that failed to start)
  WorkerSet(const WorkerSet &) = delete;
  WorkerSet &operator=(const WorkerSet &) = delete;

  // THREAD: main. Starts every worker and returns once all serve; throws
  // with the first one's reason (the set is then destroyed by its owner).
  void start();
  // THREAD: main. start() for an upgrade's rehearsal: each worker prepares
  // every listener but starts none (it accepts nothing and changes nothing
  // of the sockets, and logs to stderr only); the set's owner then destroys
  // it, which kills them.
  void rehearse();
  // THREAD: main. Applies a config the running workers can take (same
  // groups, workers and user): each worker in turn gets the sockets of new
  // addresses, its log files and the config. Returns the first worker's changes; throws if
  // a worker refuses it (if the first did, nothing changed).
  std::vector<std::string> reload(config::Config next, std::string nextText, SocketSet nextSockets,
                                  const SocketSet &before);

  // THREAD: main. A child exited: true if it was one of this set's workers.
  // Logs its cause; unless the set is retired, schedules its replacement.
  bool reaped(pid_t pid, int status);
  // THREAD: main. reaped() for each of this set's workers that has exited,
  // without waiting (and without reaping any other child).
  void reapExited();
  // THREAD: main, each tick. Heartbeats: a worker that has not answered for
  // worker_timeout (stopped, wedged, an event loop stuck in plugin code), or
  // whose channel is closed or garbled, is killed and so replaced. Returns
  // whether every worker is in touch (the systemd watchdog is fed only then).
  bool checkHeartbeats();
  // THREAD: main, each tick. A worker holding more memory than
  // memory_limit (resident plus swapped out; a plugin that leaks or
  // allocates without bound), or with a process in its cgroup that does (a
  // fork session, what a plugin started), is killed, and so replaced.
  void enforceMemoryLimit();
  // THREAD: main. Replaces the workers whose delay has passed; returns when
  // the next replacement is due.
  std::optional<Clock::time_point> replaceDue();

  // THREAD: main. No more replacements; every worker stops accepting and
  // drains its sessions within drain_timeout (a reload or an upgrade
  // replaced the set by `successor`, started). A worker with reactor
  // listeners that migrate also gets a link (a SOCK_SEQPACKET pair) to a
  // worker of `successor`'s same group, taken in turn, and sends it their
  // sessions directly; the master relays nothing. A worker of an older
  // binary ignores the link and drains. Returns how many workers got a link.
  size_t retire(WorkerSet *successor = nullptr);
  // THREAD: main. No more replacements; every worker gets `signal` (SIGTERM
  // drains within shutdown_timeout, SIGQUIT cuts).
  void stop(int signal);
  void signalAll(int signal) const;
  // THREAD: main. Every worker that serves one of `listeners` gets their
  // session ticket keys again (the ring rotated them); returns once each has
  // them in use, or has not answered in time (logged: a worker that has gone
  // is replaced with the keys anyway).
  void passTicketKeys(const std::vector<std::string> &listeners) const;
  // THREAD: main. Every worker gets its log files' descriptors again (after
  // the master reopened them).
  void passLogFiles() const;
  bool finished() const;  // retired and every worker reaped

  // THREAD: main. Each worker's status, asked of it.
  void report(Poco::JSON::Array &workers, std::vector<Poco::JSON::Object::Ptr> &statuses,
              const char *state) const;
  size_t size() const { return slots_.size(); }
  // THREAD: main. The running workers, for a binary upgrade's hand-over.
  std::vector<const WorkerProcess *> running() const;
  const std::string &configText() const { return configText_; }
  const config::Config &config() const { return config_; }
  const SocketSet &sockets() const { return sockets_; }

 private:
  struct Slot {
    size_t group;                            // index in groups_
    std::unique_ptr<WorkerProcess> process;  // null while waiting to be replaced
    unsigned restarts = 0;
    int lastSignal = 0;  // that killed this slot's last worker to die (0: none)
    CrashBackoff backoff;
    std::optional<Clock::time_point> replaceAt;
  };

  std::unique_ptr<WorkerProcess> launch(const WorkerGroup &group) const;
  // Once `worker` is reaped: what its plugins started goes with it (its
  // process group, and its cgroup where it has one).
  void endLeftovers(const WorkerProcess &worker) const;
  // Kills `worker`, reaps it and ends its leftovers; returns how it ended
  // (it may have died before the kill).
  int killAndReap(WorkerProcess &worker) const;
  // Whether `crash` blames a session hook the listener could have run in a
  // worker that lived `uptime` (a page naming one paused all along is forged).
  bool believedSessionCrash(const process::CrashRecord &crash,
                            std::chrono::milliseconds uptime) const;
  // `slot`'s worker died in a session hook (`what`, for the log): it is
  // replaced at once, and the hook's listener waits in the replacement.
  void replaceAfterSessionCrash(Slot &slot, const std::string &what,
                                const process::CrashRecord &crash,
                                std::chrono::milliseconds uptime);
  int64_t setUp(WorkerProcess &worker, const WorkerGroup &group) const;
  void passHeldFiles(WorkerProcess &worker, const WorkerGroup &group) const;
  // Those of `listeners` that have tickets; true if there were any.
  bool passTicketKeys(WorkerProcess &worker, const std::vector<std::string> &listeners) const;
  Poco::JSON::Object requestFor(const char *command, const WorkerGroup &group) const;
  // Whether `group` serves a reactor stream listener with migrate = on.
  bool migratesSessions(const WorkerGroup &group) const;
  // The `turn`-th of the running workers of group `name` (in turn), if any.
  WorkerProcess *servingGroup(const std::string &name, size_t turn) const;
  // The old end of a link whose other end `successor`'s worker of `group`
  // took ({"command": "adopt_sessions"}); `retire` says so. Invalid if none.
  process::Channel linkToSuccessor(const WorkerGroup &group, WorkerSet &successor, size_t turn,
                                   Poco::JSON::Object &retire) const;

  std::filesystem::path binary_;
  WorkerCgroups *cgroups_;
  const TicketKeyRing &ticketKeys_;
  config::Config config_;
  std::string configText_;
  SocketSet sockets_;
  LogFileSet logFiles_;
  std::vector<WorkerGroup> groups_;
  std::vector<Slot> slots_;
  CrashPauses pauses_;
  bool retired_ = false;
  bool unreadableMemoryTold_ = false;  // the log said memory_limit cannot read a worker's
  bool rehearsal_ = false;
};

}  // namespace wharf::master
