#include "control/AdminServer.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "net/Endpoint.h"

namespace wharf::control {
namespace {

constexpr size_t kMaxRequest = 64 * 1024;

[[noreturn]] void fail(const std::filesystem::path &path, const std::string &what) {
  throw std::runtime_error("admin socket " + path.string() + ": " + what + ": " +
                           std::strerror(errno));
}

// Reads one line (or until the peer half-closes), at most kMaxRequest bytes.
std::string readRequest(int connection) {
  std::string request;
  char buffer[4096];
  while (request.size() < kMaxRequest && request.find('\n') == std::string::npos) {
    ssize_t got = ::recv(connection, buffer, sizeof buffer, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    request.append(buffer, static_cast<size_t>(got));
  }
  return request.substr(0, request.find('\n'));
}

}  // namespace

AdminServer::AdminServer(const std::filesystem::path &path, std::map<std::string, Handler> commands)
    : path_(path), commands_(std::move(commands)) {
  net::Endpoint endpoint = net::parseEndpoint(net::Transport::Unix, path.string());
  // Bind under a temporary name, restrict it, then rename: the socket is
  // never reachable with wider permissions.
  std::filesystem::path staging = path.string() + ".tmp." + std::to_string(::getpid());
  net::Endpoint staged = net::parseEndpoint(net::Transport::Unix, staging.string());
  socket_ = net::FileDescriptor(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket_.valid()) fail(path, "socket");
  ::unlink(staging.c_str());
  if (::bind(socket_.fd(), staged.address.get(), staged.address.length()) != 0) fail(path, "bind");
  if (::chmod(staging.c_str(), 0600) != 0 || ::listen(socket_.fd(), 16) != 0 ||
      ::rename(staging.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(staging.c_str());
    errno = error;
    fail(path, "setting up");
  }
  thread_ = std::thread([this] { serve(); });
}

AdminServer::~AdminServer() {
  stop_.request();
  if (thread_.joinable()) thread_.join();
  ::unlink(path_.c_str());
}

void AdminServer::serve() noexcept {
  while (stop_.waitReadable(socket_.fd())) {
    net::FileDescriptor connection(::accept4(socket_.fd(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection.valid()) continue;
    timeval timeout{5, 0};  // a stalled client must not hold the control socket
    ::setsockopt(connection.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(connection.fd(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    try {
      answer(connection.fd());
    } catch (const std::exception &error) {
      Poco::Logger::get("admin").error(std::string("control request failed: ") + error.what());
    }
  }
}

void AdminServer::answer(int connection) {
  std::string text = reply(readRequest(connection)) + "\n";
  for (size_t sent = 0; sent < text.size();) {
    ssize_t put = ::send(connection, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return;
    sent += static_cast<size_t>(put);
  }
}

std::string AdminServer::reply(const std::string &request) {
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
    auto handler = commands_.find(command);
    if (handler == commands_.end()) throw std::runtime_error("unknown command '" + command + "'");
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
