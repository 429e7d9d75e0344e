// Internal. One worker process as the master sees it: started by fork+exec
// of the wharfd binary (`wharfd --worker GROUP --config FILE`, its channel
// as descriptor 3, its crash page as 4), then talked to over that channel. Requests carry an id,
// so an answer that comes after its request timed out is never taken for
// the next one's.
#pragma once

#include <Poco/JSON/Object.h>
#include <sys/types.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "process/Cgroup.h"
#include "process/Channel.h"
#include "process/CrashPage.h"

namespace wharf::master {

// The descriptor a worker finds its channel on.
constexpr int kWorkerChannelFd = 3;

struct WorkerLaunch {
  std::filesystem::path binary;  // wharfd itself
  std::filesystem::path configFile;
  std::string group;  // for ps and the log: "main" or an isolated listener's name
};

// What await() throws when the worker did not answer in time (it may be
// stuck in plugin code), as opposed to answering with an error.
class WorkerSilent : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class WorkerProcess {
 public:
  // THREAD: main: a worker gets SIGKILL when the thread that forked it ends
  // (PR_SET_PDEATHSIG), so nothing outlives the master. Throws
  // std::system_error when no process can be had.
  explicit WorkerProcess(const WorkerLaunch &launch);
  // A worker an earlier master started (a binary upgrade handed it over).
  WorkerProcess(pid_t pid, process::Channel channel, net::FileDescriptor crashPage,
                std::string group, std::chrono::steady_clock::time_point started);
  WorkerProcess(const WorkerProcess &) = delete;
  WorkerProcess &operator=(const WorkerProcess &) = delete;

  pid_t pid() const { return pid_; }
  const std::string &group() const { return group_; }
  // How long it has run (across a binary upgrade, for an adopted one).
  std::chrono::milliseconds uptime() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started_);
  }

  // Passes a copy of listener `name`'s socket; throws if the worker has gone.
  void passSocket(const std::string &name, int socket);
  // Passes a copy of the log file `path`'s descriptor, which the worker
  // writes to from now on; throws if the worker has gone.
  void passLogFile(const std::string &path, int file);
  // Passes the contents of a file the config names that the worker may not
  // read itself (a TLS key), in a sealed memory file: any size and any bytes,
  // which a JSON request could not carry. Throws if the worker has gone.
  void passFile(const std::filesystem::path &path, const std::string &contents);
  // Passes TLS listener `name`'s session ticket keys (TicketKeyRing's
  // passed form), in a sealed memory file: never in a message that could be
  // logged. The worker uses them at once. Throws if the worker has gone.
  void passTicketKeys(const std::string &name, const std::string &keys);
  // Sends a request (with `socket` attached, if >= 0); returns its id.
  // Throws if the worker has gone.
  int64_t post(Poco::JSON::Object request, int socket = -1);
  // The answer to request `id`: throws std::runtime_error with the worker's
  // error or if it has gone, WorkerSilent if it has not answered within
  // `timeout`.
  Poco::JSON::Object::Ptr await(int64_t id, std::chrono::milliseconds timeout);
  Poco::JSON::Object::Ptr ask(Poco::JSON::Object request, std::chrono::milliseconds timeout,
                              int socket = -1) {
    return await(post(std::move(request), socket), timeout);
  }
  void signal(int signal) const;
  // "worker PID (GROUP)", for the log.
  std::string name() const;
  int channelFd() const { return channel_.fd(); }
  int crashPageFd() const { return crashPage_ ? crashPage_->fd() : -1; }
  // THREAD: main, once reaped. The plugin hook it died in, if it wrote one
  // (none for a worker started by a master from before crash pages were
  // handed over).
  std::optional<process::CrashRecord> crashRecord() const {
    return crashPage_ ? crashPage_->record(pid_) : std::nullopt;
  }

  // THREAD: main. Sends a heartbeat each second and takes the answers that
  // have come, without waiting; a worker answers once none of its event
  // loops has been in one batch of events for `busyLimit`. False if the
  // channel is closed or garbled (a plugin closed or wrote on it).
  bool keepInTouch(std::chrono::milliseconds busyLimit);
  // How long its oldest heartbeat not yet answered with every loop turning
  // has waited (zero: none waits), and what its last answer said was stuck.
  // Only heartbeats sent count: a master busy elsewhere (a reload) sends
  // none, and that is not the worker's silence.
  std::chrono::milliseconds silence() const;
  const std::string &lastBusy() const { return lastBusy_; }
  // The cgroup of its own it runs in (WorkerCgroups), if it has one.
  const std::optional<process::Cgroup> &cgroup() const { return cgroup_; }
  void setCgroup(std::optional<process::Cgroup> cgroup) { cgroup_ = std::move(cgroup); }
  // The master gave up on it (killed, not yet reaped).
  void giveUp() { givenUp_ = true; }
  bool givenUp() const { return givenUp_; }

 private:
  // A note the worker does not answer, with `descriptor` attached.
  void pass(const Poco::JSON::Object &note, int descriptor, const char *what);
  // Under mutex_: sends `request` with the next id.
  int64_t postLocked(Poco::JSON::Object request, int socket = -1);
  // Under mutex_: a heartbeat's answer, among the others read. False for
  // what no worker sends (a plugin wrote on the channel).
  bool note(const Poco::JSON::Object &answer) noexcept;

  std::string group_;
  pid_t pid_ = -1;
  std::chrono::steady_clock::time_point started_;
  process::Channel channel_;
  std::mutex mutex_;
  int64_t nextId_ = 1;
  std::chrono::steady_clock::time_point nextHeartbeat_;
  // Heartbeats sent and not yet answered with every loop turning: id, when.
  std::deque<std::pair<int64_t, std::chrono::steady_clock::time_point>> unanswered_;
  std::string lastBusy_;
  bool givenUp_ = false;
  std::unique_ptr<process::CrashPage> crashPage_;
  std::optional<process::Cgroup> cgroup_;
};

}  // namespace wharf::master
