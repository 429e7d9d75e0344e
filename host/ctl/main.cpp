// wharfctl: talks to a running wharfd through its control socket.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "ctl/StatusTable.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // wharfd answered with an error, or could not be reached
constexpr int kExitUsage = 2;

constexpr const char *kUsage =
    "usage: wharfctl [--admin PATH] [--timeout SECONDS] COMMAND\n"
    "  --admin PATH        wharfd's control socket ([host] admin; default /run/wharf/admin.sock)\n"
    "  --timeout SECONDS   how long to wait for wharfd's answer (default 10; for upgrade,\n"
    "                      for the new binary to be checked, rehearsed and serving:\n"
    "                      default 120)\n"
    "commands:\n"
    "  status [--json]   listeners, plugins and session counts\n"
    "  stop              stop accepting, let sessions finish, exit (as SIGTERM)\n"
    "  reload            reload config and plugins\n"
    "  reopen            reopen the log files (after logrotate moved them), as SIGUSR1\n"
    "  rotate-tickets    rotate every TLS listener's session ticket keys now\n"
    "  purge-tickets     replace all of every TLS listener's session ticket keys now: no\n"
    "                    ticket issued before resumes (keys thought exposed)\n"
    "  upgrade           re-execute the wharfd binary at the same path, keeping the PID and\n"
    "                    every socket, once it has passed its check and a rehearsal as\n"
    "                    master; waits until the new binary serves (or was refused)\n";

// How long `upgrade` waits for the new binary's workers to serve, unless
// --timeout says.
constexpr auto kUpgradeTimeout = std::chrono::seconds(120);

using Clock = std::chrono::steady_clock;

[[noreturn]] void timedOut(std::chrono::seconds timeout) {
  throw std::runtime_error("no answer from wharfd within " + std::to_string(timeout.count()) +
                           " s (--timeout); it may still be carrying out the request");
}

// The time left until `deadline` as a socket timeout (never zero: that
// would mean no timeout). Throws once the deadline has passed.
timeval timeLeft(Clock::time_point deadline, std::chrono::seconds timeout) {
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
  if (left.count() <= 0) timedOut(timeout);
  return timeval{static_cast<time_t>(left.count() / 1000000),
                 static_cast<suseconds_t>(left.count() % 1000000)};
}

// Sends one request line; returns the reply line, all within `timeout`.
// Throws std::runtime_error.
std::string askWharfd(const std::string &path, const std::string &request,
                      std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path) throw std::runtime_error(path + ": path too long");
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  auto limit = [&](int option) {
    timeval left = timeLeft(deadline, timeout);
    ::setsockopt(fd, SOL_SOCKET, option, &left, sizeof left);
  };
  limit(SO_SNDTIMEO);  // a unix connect waits on a full backlog this long
  if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
    if (errno == EAGAIN) timedOut(timeout);
    throw std::runtime_error("cannot reach wharfd at " + path + ": " + std::strerror(errno));
  }
  std::string line = request + "\n";
  limit(SO_SNDTIMEO);
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
    throw std::runtime_error(std::string("send: ") + std::strerror(errno));
  std::string reply;
  char buffer[4096];
  for (;;) {
    limit(SO_RCVTIMEO);
    ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) timedOut(timeout);
    if (got <= 0) break;
    reply.append(buffer, static_cast<size_t>(got));
  }
  if (reply.empty()) throw std::runtime_error("wharfd closed the control connection");
  return reply;
}

Poco::JSON::Object::Ptr askCommand(const std::string &admin, const std::string &command,
                                   std::chrono::seconds timeout) {
  Poco::JSON::Object request;
  request.set("command", command);
  // How long this waits: what wharfd does for the request fits in it.
  request.set("timeout_ms", static_cast<int64_t>(timeout.count()) * 1000);
  std::ostringstream requestText;
  request.stringify(requestText);
  std::string replyText = askWharfd(admin, requestText.str(), timeout);
  return Poco::JSON::Parser().parse(replyText).extract<Poco::JSON::Object::Ptr>();
}

// After an accepted upgrade: the master proves the new binary, re-executes
// it (its control socket is away for a moment), and reports the attempt's
// outcome in status. `attempt` is the number the master gave it (0: a
// wharfd from before attempts were numbered; then the upgrade count moves).
int awaitUpgrade(const std::string &admin, pid_t master, uint64_t before, uint64_t attempt,
                 std::chrono::seconds timeout, std::chrono::seconds limit,
                 Clock::time_point deadline) {
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Poco::JSON::Object::Ptr status;
    try {
      status = askCommand(admin, "status", timeout);
    } catch (const std::exception &) {
      if (master > 0 && ::kill(master, 0) != 0 && errno == ESRCH) {
        std::cerr << "wharfctl: wharfd (pid " << master << ") exited before the upgrade was over\n";
        return kExitFailed;
      }
      continue;  // between the two binaries
    }
    Poco::JSON::Object::Ptr upgrade = status->getObject("last_upgrade");
    bool over = upgrade && (attempt > 0 ? upgrade->optValue<uint64_t>("attempt", 0) == attempt
                                        : status->optValue<uint64_t>("upgrades", 0) > before);
    if (!over) continue;
    std::string from = upgrade->getValue<std::string>("from");
    std::string to = upgrade->getValue<std::string>("to");
    std::string result = upgrade->getValue<std::string>("result");
    std::string error = upgrade->optValue<std::string>("error", "");
    if (result == "refused") {
      std::cerr << "wharfctl: upgrade refused, the old binary serves on: " << error << "\n";
      return kExitFailed;
    }
    if (result != "done") {
      std::cerr << "wharfctl: upgrade from wharfd " << from << " to " << to
                << " failed, the old workers serve on: " << error << "\n";
      return kExitFailed;
    }
    std::cout << "wharfd: upgraded from " << from << " to " << to << ", pid "
              << status->getValue<int>("pid") << "\n";
    return kExitOk;
  }
  std::cerr << "wharfctl: the upgrade did not finish within " << limit.count()
            << " s; wharfd may still be carrying it out (see status)\n";
  return kExitFailed;
}

}  // namespace

int main(int argc, char **argv) {
  std::string admin = "/run/wharf/admin.sock";
  std::string command;
  std::chrono::seconds timeout(10);
  bool timeoutGiven = false;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    if (argument == "--admin" && i + 1 < argc) {
      admin = argv[++i];
    } else if (argument == "--timeout" && i + 1 < argc) {
      long seconds = std::strtol(argv[++i], nullptr, 10);
      if (seconds < 1 || seconds > 3600) {
        std::cerr << "wharfctl: --timeout takes whole seconds from 1 to 3600\n";
        return kExitUsage;
      }
      timeout = std::chrono::seconds(seconds);
      timeoutGiven = true;
    } else if (argument == "--json") {
      json = true;
    } else if (argument == "--help" || argument == "-h") {
      std::cout << kUsage;
      return kExitOk;
    } else if (command.empty() && !argument.starts_with("-")) {
      command = argument;
    } else {
      std::cerr << "wharfctl: unexpected argument '" << argument << "'\n" << kUsage;
      return kExitUsage;
    }
  }
  if (command != "status" && command != "stop" && command != "reload" && command != "upgrade" &&
      command != "reopen" && command != "rotate-tickets" && command != "purge-tickets") {
    std::cerr << (command.empty() ? "wharfctl: no command\n"
                                  : "wharfctl: unknown command '" + command + "'\n")
              << kUsage;
    return kExitUsage;
  }
  try {
    // An upgrade is checked and rehearsed before wharfd answers: the whole
    // of it, answer and new workers, within one limit.
    auto limit = command == "upgrade" && !timeoutGiven ? kUpgradeTimeout : timeout;
    auto deadline = Clock::now() + limit;
    auto reply = askCommand(admin, command, limit);
    if (!reply->optValue<bool>("ok", false)) {
      std::cerr << "wharfctl: " << reply->optValue<std::string>("error", "request failed") << "\n";
      return kExitFailed;
    }
    reply->remove("ok");
    if (command == "upgrade")
      return awaitUpgrade(admin, reply->optValue<pid_t>("pid", 0),
                          reply->getValue<uint64_t>("upgrades"),
                          reply->optValue<uint64_t>("attempt", 0), timeout, limit, deadline);
    if (command == "status" && !json) {
      wharf::ctl::printStatusTable(*reply, std::cout);
    } else if (command == "status") {
      reply->stringify(std::cout, 2);
      std::cout << "\n";
    } else if (command == "reload") {
      auto changes = reply->getArray("changes");
      for (size_t i = 0; changes && i < changes->size(); ++i)
        std::cout << "wharfd: " << changes->getElement<std::string>(static_cast<unsigned>(i))
                  << "\n";
    } else if (command == "reopen") {
      auto failures = reply->getArray("failures");
      for (size_t i = 0; failures && i < failures->size(); ++i)
        std::cerr << "wharfctl: " << failures->getElement<std::string>(static_cast<unsigned>(i))
                  << "\n";
      if (failures && failures->size() > 0) return kExitFailed;
      std::cout << "wharfd: log files reopened\n";
    } else if (command == "rotate-tickets" || command == "purge-tickets") {
      auto listeners = reply->getArray("listeners");
      std::cout << "wharfd: session ticket keys "
                << (command == "purge-tickets" ? "replaced" : "rotated") << " for "
                << (listeners ? listeners->size() : 0) << " listeners\n";
    } else {
      std::cout << "wharfd: " << command << " accepted\n";
    }
    return kExitOk;
  } catch (const std::exception &error) {
    std::cerr << "wharfctl: " << error.what() << "\n";
    return kExitFailed;
  }
}
