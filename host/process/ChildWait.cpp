#include "process/ChildWait.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sstream>
#include <vector>

namespace wharf::process {
namespace {

constexpr size_t kKeptOutput = 64 * 1024;
constexpr auto kWaiterPeriod = std::chrono::milliseconds(100);

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
  for (;;) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      end.late = true;
      break;
    }
    if (whileWaiting && !whileWaiting()) {
      end.interrupted = true;
      break;
    }
    pollfd ready{output.fd(), POLLIN, 0};
    int wait =
        static_cast<int>(whileWaiting ? std::min(left, kWaiterPeriod).count() : left.count());
    if (::poll(&ready, 1, wait) <= 0) continue;
    char buffer[4096];
    ssize_t got = ::read(output.fd(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    end.output.append(buffer, static_cast<size_t>(got));
    if (end.output.size() > kKeptOutput) end.output.erase(0, end.output.size() - kKeptOutput);
  }
  if (end.late || end.interrupted) killChild(child);
  while (::waitpid(child, &end.status, 0) < 0 && errno == EINTR) {
  }
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
