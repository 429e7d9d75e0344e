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

constexpr auto kTick = std::chrono::milliseconds(250);
// Accepts per readiness event: evicted connections leave on their next event,
// so a burst cannot outgrow kMaxConnections by more than this.
constexpr int kAcceptsPerEvent = 32;

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
  stopping_ = true;
  loop_.wake();
  if (thread_.joinable()) thread_.join();
  ::unlink(path_.c_str());
}

void AdminServer::serve() noexcept {
  loop_.watch(socket_.fd(), EPOLLIN, this);
  for (;;) {
    try {
      loop_.run([this] { return !stopping_; }, kTick,
                [this] {
                  resumeAccepting();
                  closeExpired();
                });
      return;
    } catch (const std::exception &error) {
      Poco::Logger::get("admin").error(std::string("control socket loop: ") + error.what());
    }
  }
}

void AdminServer::onEvents(uint32_t) {
  for (int i = 0; i < kAcceptsPerEvent; ++i) {
    net::FileDescriptor socket(
        ::accept4(socket_.fd(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!socket.valid()) {
      if (errno == EMFILE || errno == ENFILE) pauseAccepting();
      return;
    }
    if (connections_.size() >= kMaxConnections) evictOldest();
    auto connection = std::make_unique<AdminConnection>(
        loop_, std::move(socket), AdminConnection::Clock::now() + kRequestDeadline,
        [this](const std::string &request) { return answer(commands_, request); },
        [this](AdminConnection *done) { remove(done); });
    AdminConnection *raw = connection.get();
    loop_.watch(raw->fd(), EPOLLIN, raw);
    connections_.emplace(raw, std::move(connection));
  }
}

// Out of descriptors, the listening socket stays readable: it is unwatched
// until the next tick rather than spun on; connections wait in the backlog.
void AdminServer::pauseAccepting() {
  if (acceptPaused_) return;
  loop_.unwatch(socket_.fd());
  acceptPaused_ = true;
}

void AdminServer::evictOldest() {
  AdminConnection *oldest = nullptr;
  for (const auto &[raw, connection] : connections_)
    if (!raw->evicted() && (!oldest || raw->deadline() < oldest->deadline())) oldest = raw;
  if (oldest) oldest->evict();
}

void AdminServer::resumeAccepting() {
  if (!acceptPaused_) return;
  acceptPaused_ = false;
  loop_.watch(socket_.fd(), EPOLLIN, this);
}

void AdminServer::closeExpired() {
  auto now = AdminConnection::Clock::now();
  std::erase_if(connections_, [&](const auto &entry) {
    if (entry.second->deadline() > now) return false;
    loop_.unwatch(entry.second->fd());
    return true;
  });
}

void AdminServer::remove(AdminConnection *connection) {
  loop_.unwatch(connection->fd());
  connections_.erase(connection);
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
