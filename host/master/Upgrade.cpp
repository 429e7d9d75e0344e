#include "master/Upgrade.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "net/FileDescriptor.h"

extern char **environ;

namespace wharf::master {
namespace {

constexpr const char *kVariable = "WHARF_UPGRADE";
constexpr auto kCheckTimeout = std::chrono::seconds(60);
constexpr size_t kMaxCheckOutput = 64 * 1024;

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

void setCloseOnExec(const Inheritance &inheritance, bool close) {
  auto apply = [close](int fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, close ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
  };
  for (const auto &socket : inheritance.sockets) apply(socket.fd);
  for (const auto &worker : inheritance.workers) apply(worker.channel);
}

std::string encode(const Inheritance &inheritance) {
  Poco::JSON::Object state;
  Poco::JSON::Array::Ptr sockets = new Poco::JSON::Array;
  for (const auto &socket : inheritance.sockets) {
    Poco::JSON::Object::Ptr entry = new Poco::JSON::Object;
    entry->set("listener", socket.listener);
    entry->set("transport", socket.transport);
    entry->set("listen", socket.listen);
    entry->set("fd", socket.fd);
    entry->set("owned", socket.owned);
    sockets->add(entry);
  }
  Poco::JSON::Array::Ptr workers = new Poco::JSON::Array;
  for (const auto &worker : inheritance.workers) {
    Poco::JSON::Object::Ptr entry = new Poco::JSON::Object;
    entry->set("pid", static_cast<int>(worker.pid));
    entry->set("channel", worker.channel);
    entry->set("group", worker.group);
    entry->set("uptime_ms", worker.uptimeMs);
    entry->set("serving", worker.serving);
    workers->add(entry);
  }
  state.set("sockets", sockets);
  state.set("workers", workers);
  state.set("config", inheritance.configText);
  state.set("from", inheritance.fromVersion);
  state.set("uptime_ms", inheritance.uptimeMs);
  state.set("upgrades", inheritance.upgrades);
  std::ostringstream text;
  state.stringify(text);
  return text.str();
}

}  // namespace

void checkNewBinary(const std::filesystem::path &binary, const std::filesystem::path &configFile) {
  int pipeEnds[2];
  if (::pipe2(pipeEnds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  net::FileDescriptor reader(pipeEnds[0]), writer(pipeEnds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, writer.fd(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, writer.fd(), STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  std::string program = binary.string(), config = configFile.string();
  std::string check = "--check-config", configFlag = "--config";
  char *argv[] = {program.data(), check.data(), configFlag.data(), config.data(), nullptr};
  pid_t child = -1;
  int spawned = ::posix_spawn(&child, program.c_str(), &actions, &attributes, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  writer = net::FileDescriptor();
  if (spawned != 0)
    throw std::runtime_error("cannot run " + program + ": " + std::strerror(spawned));
  std::string output;
  auto deadline = std::chrono::steady_clock::now() + kCheckTimeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd ready{reader.fd(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) == 0) {
      ::kill(child, SIGKILL);
      output += "\n(no answer within a minute)";
      break;
    }
    char buffer[4096];
    ssize_t got = ::read(reader.fd(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (output.size() < kMaxCheckOutput) output.append(buffer, static_cast<size_t>(got));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string said = lastLines(output, 2);
  throw std::runtime_error(program + " --check-config " +
                           (WIFEXITED(status)
                                ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                : "was killed by signal " + std::to_string(WTERMSIG(status))) +
                           (said.empty() ? "" : ": " + said));
}

void execUpgrade(const std::filesystem::path &binary, const std::filesystem::path &configFile,
                 const Inheritance &inheritance) {
  std::string state = encode(inheritance);
  std::string program = binary.string(), config = configFile.string(), configFlag = "--config";
  char *argv[] = {program.data(), configFlag.data(), config.data(), nullptr};
  setCloseOnExec(inheritance, false);
  ::setenv(kVariable, state.c_str(), 1);
  ::execv(program.c_str(), argv);
  int error = errno;
  ::unsetenv(kVariable);
  setCloseOnExec(inheritance, true);
  errno = error;
}

std::optional<Inheritance> takeInheritance() {
  const char *text = std::getenv(kVariable);
  if (text == nullptr) return std::nullopt;
  Poco::JSON::Object::Ptr state =
      Poco::JSON::Parser().parse(std::string(text)).extract<Poco::JSON::Object::Ptr>();
  ::unsetenv(kVariable);
  Inheritance inheritance;
  Poco::JSON::Array::Ptr sockets = state->getArray("sockets");
  for (size_t i = 0; sockets && i < sockets->size(); ++i) {
    Poco::JSON::Object::Ptr entry = sockets->getObject(static_cast<unsigned>(i));
    inheritance.sockets.push_back({entry->getValue<std::string>("listener"),
                                   entry->getValue<std::string>("transport"),
                                   entry->getValue<std::string>("listen"),
                                   entry->getValue<int>("fd"), entry->getValue<bool>("owned")});
  }
  Poco::JSON::Array::Ptr workers = state->getArray("workers");
  for (size_t i = 0; workers && i < workers->size(); ++i) {
    Poco::JSON::Object::Ptr entry = workers->getObject(static_cast<unsigned>(i));
    inheritance.workers.push_back(
        {static_cast<pid_t>(entry->getValue<int>("pid")), entry->getValue<int>("channel"),
         entry->getValue<std::string>("group"), entry->getValue<int64_t>("uptime_ms"),
         entry->getValue<bool>("serving")});
  }
  inheritance.configText = state->getValue<std::string>("config");
  inheritance.fromVersion = state->getValue<std::string>("from");
  inheritance.uptimeMs = state->getValue<int64_t>("uptime_ms");
  inheritance.upgrades = state->getValue<uint64_t>("upgrades");
  return inheritance;
}

}  // namespace wharf::master
