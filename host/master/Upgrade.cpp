#include "master/Upgrade.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "net/FileDescriptor.h"
#include "process/Base64.h"
#include "process/ChildWait.h"
#include "process/SealedMemory.h"

namespace wharf::master {
namespace {

constexpr const char *kVariable = "WHARF_UPGRADE";
constexpr const char *kRehearsalFlag = "--rehearse-upgrade";

void setCloseOnExec(const Inheritance &inheritance, bool close) {
  auto apply = [close](int fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, close ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
  };
  for (const auto &socket : inheritance.sockets) apply(socket.fd);
  for (const auto &worker : inheritance.workers) {
    apply(worker.channel);
    if (worker.crashPage >= 0) apply(worker.crashPage);
  }
}

// The held files in a sealed memory file (JSON: path → base64), not in the
// state: one environment string holds at most 128 KiB, and a CA bundle alone
// can be more.
net::FileDescriptor heldFilesMemory(const Inheritance &inheritance) {
  Poco::JSON::Object files;
  for (const auto &[path, contents] : inheritance.heldFiles.value_or(config::HeldFiles{})) {
    files.set(path.string(), process::encodeBase64(contents.data(), contents.size()));
  }
  std::ostringstream text;
  files.stringify(text);
  return process::sealedMemory(text.str());
}

config::HeldFiles heldFilesFrom(int fd) {
  config::HeldFiles held;
  Poco::JSON::Object::Ptr files =
      Poco::JSON::Parser().parse(process::readWhole(fd)).extract<Poco::JSON::Object::Ptr>();
  for (const auto &[path, encoded] : *files) {
    held[path] = process::decodeBase64(encoded.extract<std::string>());
  }
  return held;
}

// The sealed memory files the state names: the held files and the ticket
// keys, which are in no environment string (where /proc/PID/environ and a
// core would show them) either.
struct HandedMemory {
  net::FileDescriptor files;
  net::FileDescriptor ticketKeys;

  explicit HandedMemory(const Inheritance &inheritance)
      : files(heldFilesMemory(inheritance)),
        ticketKeys(process::sealedMemory(inheritance.ticketKeys.value_or(""))) {}
};

std::string encode(const Inheritance &inheritance, const HandedMemory &memory, int binaryFd = -1) {
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
    entry->set("crash_page", worker.crashPage);
    entry->set("group", worker.group);
    entry->set("uptime_ms", worker.uptimeMs);
    entry->set("serving", worker.serving);
    workers->add(entry);
  }
  state.set("sockets", sockets);
  state.set("workers", workers);
  state.set("config", inheritance.configText);
  state.set("files_fd", memory.files.fd());
  state.set("ticket_keys_fd", memory.ticketKeys.fd());
  state.set("from", inheritance.fromVersion);
  state.set("uptime_ms", inheritance.uptimeMs);
  state.set("upgrades", inheritance.upgrades);
  state.set("attempts", inheritance.attempts);
  state.set("binary_fd", binaryFd);
  std::ostringstream text;
  state.stringify(text);
  return text.str();
}

// Runs `binary` with `arguments` (and `inheritance`'s sockets, if given) in
// a child, within `deadline`; what it wrote and how it ended.
process::ChildEnd runChild(const NewBinary &binary, const std::vector<std::string> &arguments,
                           const Inheritance *inheritance,
                           std::chrono::steady_clock::time_point deadline,
                           const UpgradeWaiter &waiter) {
  int pipeEnds[2];
  if (::pipe2(pipeEnds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  net::FileDescriptor reader(pipeEnds[0]), writer(pipeEnds[1]);
  std::vector<std::string> variables;
  std::vector<int> kept;
  std::optional<HandedMemory> memory;
  if (inheritance != nullptr) {
    memory.emplace(*inheritance);
    variables.push_back(std::string(kVariable) + "=" + encode(*inheritance, *memory));
    for (const auto &socket : inheritance->sockets) kept.push_back(socket.fd);
    kept.push_back(memory->files.fd());
    kept.push_back(memory->ticketKeys.fd());
  }
  pid_t child = binary.start(arguments, variables, kept, writer.fd());
  writer = net::FileDescriptor();
  return process::awaitChild(child, std::move(reader), deadline, waiter);
}

std::string failure(const NewBinary &binary, const std::string &step, const process::ChildEnd &end,
                    std::chrono::steady_clock::time_point started,
                    std::chrono::steady_clock::time_point deadline) {
  std::string said = process::lastLines(end.output, 2);
  return binary.path().string() + " " + step + " " +
         end.outcome(std::chrono::ceil<std::chrono::seconds>(deadline - started)) +
         (said.empty() ? "" : ": " + said);
}

}  // namespace

void checkNewBinary(const NewBinary &binary, const std::filesystem::path &configFile,
                    std::chrono::steady_clock::time_point deadline, const UpgradeWaiter &waiter) {
  auto started = std::chrono::steady_clock::now();
  process::ChildEnd end = runChild(binary, {"--check-config", "--config", configFile.string()},
                                   nullptr, deadline, waiter);
  if (!end.succeeded())
    throw std::runtime_error(failure(binary, "--check-config", end, started, deadline));
}

bool rehearseUpgrade(const NewBinary &binary, const std::filesystem::path &configFile,
                     const Inheritance &inheritance, std::chrono::steady_clock::time_point deadline,
                     const UpgradeWaiter &waiter) {
  auto started = std::chrono::steady_clock::now();
  process::ChildEnd end = runChild(binary, {kRehearsalFlag, "--config", configFile.string()},
                                   &inheritance, deadline, waiter);
  if (end.succeeded()) return true;
  // A binary from before rehearsals refuses the flag before it does
  // anything, as its first line (a newer one's first line says it rehearses).
  std::string firstLine = end.output.substr(0, end.output.find('\n'));
  if (!end.late && !end.interrupted && WIFEXITED(end.status) && WEXITSTATUS(end.status) == 2 &&
      firstLine == std::string("wharfd: unknown argument '") + kRehearsalFlag + "'")
    return false;
  throw std::runtime_error(failure(binary, "as master (rehearsal)", end, started, deadline));
}

void execUpgrade(const NewBinary &binary, const std::filesystem::path &configFile,
                 const Inheritance &inheritance) {
  HandedMemory memory(inheritance);
  ::fcntl(memory.files.fd(), F_SETFD, 0);
  ::fcntl(memory.ticketKeys.fd(), F_SETFD, 0);
  setCloseOnExec(inheritance, false);
  binary.exec({"--config", configFile.string()},
              {std::string(kVariable) + "=" + encode(inheritance, memory, binary.fd())});
  int error = errno;
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
         entry->getValue<bool>("serving"), entry->optValue<int>("crash_page", -1)});
  }
  inheritance.configText = state->getValue<std::string>("config");
  if (int filesFd = state->optValue<int>("files_fd", -1); filesFd > STDERR_FILENO) {
    inheritance.heldFiles = heldFilesFrom(filesFd);
    ::close(filesFd);
  }
  if (int keysFd = state->optValue<int>("ticket_keys_fd", -1); keysFd > STDERR_FILENO) {
    inheritance.ticketKeys = process::readWhole(keysFd);
    ::close(keysFd);
  }
  inheritance.fromVersion = state->getValue<std::string>("from");
  inheritance.uptimeMs = state->getValue<int64_t>("uptime_ms");
  inheritance.upgrades = state->getValue<uint64_t>("upgrades");
  inheritance.attempts = state->optValue<uint64_t>("attempts", 0);
  if (int binaryFd = state->optValue<int>("binary_fd", -1); binaryFd > STDERR_FILENO)
    ::close(binaryFd);  // what this binary was executed from
  return inheritance;
}

}  // namespace wharf::master
