#include "master/WorkerProcess.h"

#include <Poco/JSON/Array.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "master/ServiceManager.h"
#include "process/SealedMemory.h"
#include "process/SignalDefaults.h"

extern char **environ;

namespace wharf::master {

WorkerProcess::WorkerProcess(const WorkerLaunch &launch)
    : group_(launch.group),
      started_(std::chrono::steady_clock::now()),
      crashPage_(std::make_unique<process::CrashPage>()) {
  auto [mine, theirs] = process::Channel::pair();
  // Everything the child needs is made before fork: after it, in a
  // threaded process, only async-signal-safe calls are allowed.
  std::vector<std::string> arguments = {launch.binary.string(), "--worker", launch.group,
                                        "--config", launch.configFile.string()};
  std::vector<char *> argv;
  for (auto &argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  std::vector<char *> environment;
  for (char **entry = environ; *entry != nullptr; ++entry)
    if (!isServiceManagerVariable(*entry)) environment.push_back(*entry);
  environment.push_back(nullptr);
  pid_t master = ::getpid();
  int end = theirs.fd();
  int page = crashPage_->fd();
  pid_ = ::fork();
  if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != master) ::_exit(127);  // the master died before prctl
    ::setpgid(0, 0);  // a terminal's ^C reaches the master alone, which stops workers in order
    process::restoreSignalDefaults();
    // Out of the way of the channel's move to 3, whatever either was on.
    page = ::fcntl(page, F_DUPFD, process::kCrashPageFd + 1);
    if (page < 0) ::_exit(127);
    if (end == kWorkerChannelFd)
      ::fcntl(end, F_SETFD, 0);
    else if (::dup2(end, kWorkerChannelFd) < 0)
      ::_exit(127);
    if (::dup2(page, process::kCrashPageFd) < 0) ::_exit(127);
    // A worker inherits stdio, its channel and crash page only, even a descriptor another
    // thread opened without close-on-exec (Poco's HTTP server accepts so).
    ::close_range(process::kCrashPageFd + 1, ~0U, CLOSE_RANGE_CLOEXEC);
    // The master's own image, not whatever now lies at its path (a package
    // upgrade unpacking, a broken copy): only `upgrade` switches binaries.
    // The path serves only where /proc is not mounted.
    ::execve("/proc/self/exe", argv.data(), environment.data());
    ::execve(argv[0], argv.data(), environment.data());
    ::_exit(127);
  }
  channel_ = std::move(mine);
}

WorkerProcess::WorkerProcess(pid_t pid, process::Channel channel, net::FileDescriptor crashPage,
                             std::string group, std::chrono::steady_clock::time_point started)
    : group_(std::move(group)), pid_(pid), started_(started), channel_(std::move(channel)) {
  if (crashPage.valid()) {
    try {
      crashPage_ = std::make_unique<process::CrashPage>(std::move(crashPage));
    } catch (const std::exception &) {
      // not a page (a master that handed over something else): its deaths blame no hook
    }
  }
  // Answers to the earlier master's requests (heartbeats) may still wait in
  // the channel: this master's ids start past any that one can have used.
  nextId_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now().time_since_epoch())
                .count();
}

std::string WorkerProcess::name() const {
  return "worker " + std::to_string(pid_) + " (" + group_ + ")";
}

void WorkerProcess::passSocket(const std::string &name, int socket) {
  Poco::JSON::Object note;
  note.set("command", std::string("socket"));
  note.set("listener", name);
  pass(note, socket, "a socket");
}

void WorkerProcess::passLogFile(const std::string &path, int file) {
  Poco::JSON::Object note;
  note.set("command", std::string("log"));
  note.set("path", path);
  pass(note, file, "a log file");
}

void WorkerProcess::passFile(const std::filesystem::path &path, const std::string &contents) {
  net::FileDescriptor file = process::sealedMemory(contents);
  Poco::JSON::Object note;
  note.set("command", std::string("file"));
  note.set("path", path.string());
  pass(note, file.fd(), "a file");
}

void WorkerProcess::passTicketKeys(const std::string &name, const std::string &keys) {
  net::FileDescriptor file = process::sealedMemory(keys);
  Poco::JSON::Object note;
  note.set("command", std::string("ticket_keys"));
  note.set("listener", name);
  pass(note, file.fd(), "session ticket keys");
}

void WorkerProcess::pass(const Poco::JSON::Object &note, int descriptor, const char *what) {
  std::lock_guard lock(mutex_);
  if (!channel_.send(note, descriptor))
    throw std::runtime_error(name() + " has gone (passing it " + what + ")");
}

int64_t WorkerProcess::post(Poco::JSON::Object request, int socket) {
  std::lock_guard lock(mutex_);
  return postLocked(std::move(request), socket);
}

int64_t WorkerProcess::postLocked(Poco::JSON::Object request, int socket) {
  int64_t id = nextId_++;
  request.set("id", id);
  if (!channel_.send(request, socket)) throw std::runtime_error(name() + " has gone");
  return id;
}

Poco::JSON::Object::Ptr WorkerProcess::await(int64_t id, std::chrono::milliseconds timeout) {
  std::lock_guard lock(mutex_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Rounded up: a poll that times out then ends at the deadline or after
    // it, never a moment before, where it would read as the worker gone.
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw WorkerSilent(name() + " did not answer in time");
    std::optional<process::Message> reply = channel_.receive(left);
    if (!reply) {
      if (std::chrono::steady_clock::now() >= deadline)
        throw WorkerSilent(name() + " did not answer in time");
      throw std::runtime_error(name() + " has gone");
    }
    if (!note(*reply->body)) throw std::runtime_error(name() + " garbled its channel");
    if (reply->body->optValue<int64_t>("id", 0) != id) continue;  // a late answer
    if (!reply->body->optValue<bool>("ok", false))
      throw std::runtime_error(reply->body->optValue<std::string>("error", "request failed"));
    return reply->body;
  }
}

bool WorkerProcess::keepInTouch(std::chrono::milliseconds busyLimit) {
  std::lock_guard lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  if (now >= nextHeartbeat_) {
    Poco::JSON::Object heartbeat;
    heartbeat.set("command", std::string("heartbeat"));
    heartbeat.set("busy_limit_ms", static_cast<int64_t>(busyLimit.count()));
    nextHeartbeat_ = now + std::chrono::seconds(1);
    try {
      unanswered_.emplace_back(postLocked(std::move(heartbeat)), now);
    } catch (const std::runtime_error &) {
      return false;  // gone
    }
  }
  // A worker answers a few messages a second; more waiting than this is a
  // plugin writing on the channel, which must not hold the master's loop.
  constexpr int kMostPerCall = 64;
  for (int read = 0; read < kMostPerCall; ++read) {
    pollfd ready{channel_.fd(), POLLIN, 0};
    if (::poll(&ready, 1, 0) <= 0) return true;
    std::optional<process::Message> answer = channel_.receive(std::chrono::milliseconds(0));
    if (!answer || !note(*answer->body)) return false;  // closed, or not what a worker sends
  }
  return false;
}

bool WorkerProcess::note(const Poco::JSON::Object &answer) noexcept {
  try {
    if (!answer.has("busy")) return true;  // not a heartbeat's
    Poco::JSON::Array::Ptr busy = answer.getArray("busy");
    if (!busy) return false;
    lastBusy_.clear();
    for (size_t i = 0; i < busy->size(); ++i)
      lastBusy_ +=
          (lastBusy_.empty() ? "" : "; ") + busy->getElement<std::string>(static_cast<unsigned>(i));
    if (!lastBusy_.empty()) return true;  // alive, but a loop is stuck: still unanswered
    int64_t id = answer.getValue<int64_t>("id");
    while (!unanswered_.empty() && unanswered_.front().first <= id) unanswered_.pop_front();
    return true;
  } catch (...) {  // what no worker sends: a plugin wrote on the channel
    return false;
  }
}

std::chrono::milliseconds WorkerProcess::silence() const {
  if (unanswered_.empty()) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               unanswered_.front().second);
}

void WorkerProcess::signal(int signal) const {
  if (pid_ > 0) ::kill(pid_, signal);
}

}  // namespace wharf::master
