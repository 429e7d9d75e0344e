#include "dispatch/BlockingDispatcher.h"

#include <Poco/Logger.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "session/SessionRunner.h"

namespace wharf::dispatch {
namespace {

constexpr size_t kMaxDatagram = 65535;

// Out of descriptors or memory: pausing lets sessions end and free some,
// instead of spinning on a listening socket that stays readable.
bool isResourceShortage(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

}  // namespace

BlockingDispatcher::BlockingDispatcher(const DispatchContext &context) : context_(context) {}

BlockingDispatcher::~BlockingDispatcher() {
  // Only does anything without drain() if start() was never called or threw.
  stopSignal_.request();
  if (loopThread_.joinable()) loopThread_.join();
}

void BlockingDispatcher::start() {
  loopThread_ = std::thread([this] { loop(); });
}

void BlockingDispatcher::stopAccepting() {
  stopSignal_.request();
}

void BlockingDispatcher::drain() {
  if (loopThread_.joinable()) loopThread_.join();
  waitForSessions();
}

void BlockingDispatcher::loop() noexcept {
  Poco::Logger &logger = context_.instance.logger();
  while (stopSignal_.waitReadable(context_.socket.fd())) {
    try {
      if (std::optional<Work> work = takeNext()) schedule(std::move(*work));
    } catch (const std::exception &error) {
      logger.error(std::string("dispatching a session failed: ") + error.what());
    } catch (...) {
      logger.error("dispatching a session failed");
    }
  }
}

std::optional<BlockingDispatcher::Work> BlockingDispatcher::takeNext() {
  return context_.instance.socketKind() == WHARF_SOCKET_STREAM ? acceptConnection()
                                                               : receiveDatagram();
}

std::optional<BlockingDispatcher::Work> BlockingDispatcher::acceptConnection() {
  net::SocketAddress peer;
  // The listening socket is non-blocking; the accepted one is blocking.
  int fd = ::accept4(context_.socket.fd(), peer.get(), peer.lengthPointer(), SOCK_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    if (error == EAGAIN || error == EINTR || error == ECONNABORTED) return std::nullopt;
    context_.instance.logger().warning(std::string("accept: ") + std::strerror(error));
    if (isResourceShortage(error)) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return std::nullopt;
  }
  auto connection = std::make_shared<net::FileDescriptor>(fd);
  return Work([context = context_, connection, peer] {
    listener::SessionCounters::Scope counted(context.counters);
    session::runStreamSession(context.instance, context.style, std::move(*connection), peer);
  });
}

std::optional<BlockingDispatcher::Work> BlockingDispatcher::receiveDatagram() {
  datagramBuffer_.resize(kMaxDatagram);
  net::SocketAddress peer;
  ssize_t got = ::recvfrom(context_.socket.fd(), datagramBuffer_.data(), datagramBuffer_.size(), 0,
                           peer.get(), peer.lengthPointer());
  if (got < 0) {
    if (errno != EAGAIN && errno != EINTR)
      context_.instance.logger().warning(std::string("recvfrom: ") + std::strerror(errno));
    return std::nullopt;
  }
  std::vector<uint8_t> datagram(datagramBuffer_.begin(), datagramBuffer_.begin() + got);
  auto payload = std::make_shared<std::vector<uint8_t>>(std::move(datagram));
  return Work([context = context_, peer, payload] {
    listener::SessionCounters::Scope counted(context.counters);
    session::runDatagramSession(context.instance, context.style, context.socket.fd(), peer,
                                std::move(*payload));
  });
}

}  // namespace wharf::dispatch
