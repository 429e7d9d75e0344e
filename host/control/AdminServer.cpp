#include "control/AdminServer.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "app/RuntimeFolder.h"
#include "net/Endpoint.h"
#include "net/UnixSocketFile.h"

namespace wharf::control {
namespace {

[[noreturn]] void fail(const std::filesystem::path &path, const std::string &what) {
  throw std::runtime_error("admin socket " + path.string() + ": " + what + ": " +
                           std::strerror(errno));
}

}  // namespace

AdminServer::AdminServer(const std::filesystem::path &path, std::map<std::string, Handler> commands)
    : path_(path), commands_(std::move(commands)) {
  net::Endpoint endpoint = net::parseEndpoint(net::Transport::Unix, path.string());
  // Bind under a temporary name, restrict it, then rename: the socket is
  // never reachable with wider permissions.
  std::filesystem::path staging = path.string() + ".tmp." + std::to_string(::getpid());
  net::Endpoint staged = net::parseEndpoint(net::Transport::Unix, staging.string());
  // The rename below would replace whatever lies at the path: only a stale
  // socket of a wharfd that did not stop cleanly may go.
  try {
    app::makeRuntimeFolder(path);
    net::removeStaleUnixSocket(path.string(), SOCK_STREAM);
  } catch (const std::runtime_error &refusal) {
    throw std::runtime_error(std::string("admin socket ") + refusal.what());
  }
  net::FileDescriptor socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket.valid()) fail(path, "socket");
  ::unlink(staging.c_str());
  if (::bind(socket.fd(), staged.address.get(), staged.address.length()) != 0) fail(path, "bind");
  if (::chmod(staging.c_str(), 0600) != 0 || ::listen(socket.fd(), 16) != 0 ||
      ::rename(staging.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(staging.c_str());
    errno = error;
    fail(path, "setting up");
  }
  server_ = std::make_unique<RequestServer>(
      "admin", std::move(socket),
      [](std::string_view received) -> std::optional<size_t> {
        size_t end = received.find('\n');
        if (end == std::string_view::npos) return std::nullopt;
        return end;
      },
      [this](const std::string &request) { return answer(commands_, request) + "\n"; });
}

AdminServer::~AdminServer() {
  server_.reset();
  ::unlink(path_.c_str());
}

std::string AdminServer::answer(const std::map<std::string, Handler> &commands,
                                const std::string &request) {
  Poco::JSON::Object reply;
  try {
    Poco::JSON::Object::Ptr parsed;
    try {
      parsed = Poco::JSON::Parser().parse(request).extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception &) {  // syntax errors, and arrays or scalars (bad cast)
      throw std::runtime_error("not a JSON object");
    }
    if (!parsed || !parsed->has("command") || !parsed->get("command").isString())
      throw std::runtime_error("no \"command\" string");
    std::string command = parsed->getValue<std::string>("command");
    auto handler = commands.find(command);
    if (handler == commands.end()) throw std::runtime_error("unknown command '" + command + "'");
    handler->second(*parsed, reply);
    reply.set("ok", true);
  } catch (const std::exception &error) {
    reply.clear();
    reply.set("ok", false);
    reply.set("error", std::string(error.what()));
  }
  std::ostringstream out;
  reply.stringify(out);
  return out.str();
}

}  // namespace wharf::control
