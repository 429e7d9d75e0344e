// wharfctl: talks to a running wharfd through its control socket.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "ctl/StatusTable.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // wharfd answered with an error, or could not be reached
constexpr int kExitUsage = 2;

constexpr const char *kUsage =
    "usage: wharfctl [--admin PATH] COMMAND\n"
    "  --admin PATH   wharfd's control socket ([host] admin; default /run/wharf/admin.sock)\n"
    "commands:\n"
    "  status [--json]   listeners, plugins and session counts\n"
    "  stop              stop accepting, let sessions finish, exit (as SIGTERM)\n"
    "  reload            reload config and plugins\n";

// Sends one request line; returns the reply line. Throws std::runtime_error.
std::string askWharfd(const std::string &path, const std::string &request) {
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
  if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0)
    throw std::runtime_error("cannot reach wharfd at " + path + ": " + std::strerror(errno));
  std::string line = request + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
    throw std::runtime_error(std::string("send: ") + std::strerror(errno));
  std::string reply;
  char buffer[4096];
  for (ssize_t got; (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
    reply.append(buffer, static_cast<size_t>(got));
  if (reply.empty()) throw std::runtime_error("wharfd closed the control connection");
  return reply;
}

}  // namespace

int main(int argc, char **argv) {
  std::string admin = "/run/wharf/admin.sock";
  std::string command;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    if (argument == "--admin" && i + 1 < argc) {
      admin = argv[++i];
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
  if (command != "status" && command != "stop" && command != "reload") {
    std::cerr << (command.empty() ? "wharfctl: no command\n"
                                  : "wharfctl: unknown command '" + command + "'\n")
              << kUsage;
    return kExitUsage;
  }
  try {
    Poco::JSON::Object request;
    request.set("command", command);
    std::ostringstream requestText;
    request.stringify(requestText);
    std::string replyText = askWharfd(admin, requestText.str());
    auto reply = Poco::JSON::Parser().parse(replyText).extract<Poco::JSON::Object::Ptr>();
    if (!reply->optValue<bool>("ok", false)) {
      std::cerr << "wharfctl: " << reply->optValue<std::string>("error", "request failed") << "\n";
      return kExitFailed;
    }
    reply->remove("ok");
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
    } else {
      std::cout << "wharfd: " << command << " accepted\n";
    }
    return kExitOk;
  } catch (const std::exception &error) {
    std::cerr << "wharfctl: " << error.what() << "\n";
    return kExitFailed;
  }
}
