#include "process/ChildWait.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sstream>
#include <thread>
#include <vector>

namespace wharf::process {
namespace {

constexpr size_t kKeptOutput = 64 * 1024;
constexpr auto kWaiterPeriod = std::chrono::milliseconds(100);
// How often the child's exit is looked for.
constexpr auto kExitPoll = std::chrono::milliseconds(20);

void killChild(pid_t child) {
  ::kill(-child, SIGKILL);  // its group, if it made one: what a script started goes too
  ::kill(child, SIGKILL);
}

}  // namespace

bool ChildEnd::succeeded() const {
  return !late && !interrupted && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string ChildEnd::outcome(std::chrono::seconds allowed) const {
  if (late) return "did not finish in " + std::to_string(allowed.count()) + " s";
  if (interrupted) return "stopped: wharfd is stopping";
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

ChildEnd awaitChild(pid_t child, net::FileDescriptor output,
                    std::chrono::steady_clock::time_point deadline,
                    const std::function<bool()> &whileWaiting) {
  ChildEnd end;
  bool exited = false;
  // Whatever it wrote, without waiting: false once it closed the pipe.
  auto drain = [&](int wait) {
    pollfd ready{output.fd(), POLLIN, 0};
    while (::poll(&ready, 1, wait) > 0) {
      char buffer[4096];
      ssize_t got = ::read(output.fd(), buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      end.output.append(buffer, static_cast<size_t>(got));
      if (end.output.size() > kKeptOutput) end.output.erase(0, end.output.size() - kKeptOutput);
      wait = 0;
    }
    return true;
  };
  // Whether it has exited (reaped now); a child that is not ours any more
  // (reaped elsewhere) counts as failed.
  auto reaped = [&] {
    pid_t done = ::waitpid(child, &end.status, WNOHANG);
    if (done < 0 && errno == EINTR) return false;
    if (done < 0) end.status = W_EXITCODE(127, 0);
    return done != 0;
  };
  bool open = output.valid();
  while (!exited) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      // One last look: a child that ended while the waiter ran is not late.
      if (open) drain(0);
      exited = reaped();
      end.late = !exited;
      break;
    }
    if (whileWaiting && !whileWaiting()) {
      end.interrupted = true;
      break;
    }
    auto slice = whileWaiting ? std::min(left, kWaiterPeriod) : left;
    // Once it closed the pipe, its exit is polled (something it started may
    // hold the pipe open after it; it may also close the pipe and hang).
    if (open)
      open = drain(static_cast<int>(std::min(slice, kExitPoll).count()));
    else
      std::this_thread::sleep_for(std::min(slice, kExitPoll));
    exited = reaped();
  }
  if (!exited) {
    killChild(child);
    while (::waitpid(child, &end.status, 0) < 0 && errno == EINTR) {
    }
  }
  if (open) drain(0);
  return end;
}

std::string lastLines(const std::string &output, size_t count) {
  std::vector<std::string> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  std::string text;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i)
    text += (text.empty() ? "" : " / ") + lines[i];
  return text;
}

}  // namespace wharf::process
