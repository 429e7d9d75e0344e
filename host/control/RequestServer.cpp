#include "control/RequestServer.h"

#include <Poco/Logger.h>
#include <sys/socket.h>

#include <cerrno>

namespace wharf::control {
namespace {

constexpr auto kTick = std::chrono::milliseconds(250);
// Accepts per readiness event: evicted connections leave on their next event,
// so a burst cannot outgrow kMaxConnections by more than this.
constexpr int kAcceptsPerEvent = 32;

}  // namespace

RequestServer::RequestServer(std::string name, net::FileDescriptor listening,
                             RequestConnection::Complete complete, RequestConnection::Answer answer)
    : name_(std::move(name)),
      socket_(std::move(listening)),
      complete_(std::move(complete)),
      answer_(std::move(answer)) {
  thread_ = std::thread([this] { serve(); });
}

RequestServer::~RequestServer() {
  stopping_ = true;
  loop_.wake();
  if (thread_.joinable()) thread_.join();
}

void RequestServer::serve() noexcept {
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
      Poco::Logger::get(name_).error(name_ + " loop: " + error.what());
    }
  }
}

void RequestServer::onEvents(uint32_t) {
  for (int i = 0; i < kAcceptsPerEvent; ++i) {
    net::FileDescriptor socket(
        ::accept4(socket_.fd(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!socket.valid()) {
      if (errno == EMFILE || errno == ENFILE) pauseAccepting();
      return;
    }
    if (connections_.size() >= kMaxConnections) evictOldest();
    auto connection = std::make_unique<RequestConnection>(
        loop_, std::move(socket), RequestConnection::Clock::now() + kRequestDeadline, complete_,
        answer_, [this](RequestConnection *done) { remove(done); });
    RequestConnection *raw = connection.get();
    loop_.watch(raw->fd(), EPOLLIN, raw);
    connections_.emplace(raw, std::move(connection));
  }
}

// Out of descriptors, the listening socket stays readable: it is unwatched
// until the next tick rather than spun on; connections wait in the backlog.
void RequestServer::pauseAccepting() {
  if (acceptPaused_) return;
  loop_.unwatch(socket_.fd());
  acceptPaused_ = true;
}

void RequestServer::evictOldest() {
  RequestConnection *oldest = nullptr;
  for (const auto &[raw, connection] : connections_)
    if (!raw->evicted() && (!oldest || raw->deadline() < oldest->deadline())) oldest = raw;
  if (oldest) oldest->evict();
}

void RequestServer::resumeAccepting() {
  if (!acceptPaused_) return;
  acceptPaused_ = false;
  loop_.watch(socket_.fd(), EPOLLIN, this);
}

void RequestServer::closeExpired() {
  auto now = RequestConnection::Clock::now();
  std::erase_if(connections_, [&](const auto &entry) {
    if (entry.second->deadline() > now) return false;
    loop_.unwatch(entry.second->fd());
    return true;
  });
}

void RequestServer::remove(RequestConnection *connection) {
  loop_.unwatch(connection->fd());
  connections_.erase(connection);
}

}  // namespace wharf::control
