#include "worker/MasterLink.h"

#include <Poco/Logger.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "logging/LineSink.h"
#include "process/SealedMemory.h"
#include "tls/TicketKeys.h"

namespace wharf::worker {
namespace {

// The socket attached to the request this thread's handler answers. Per
// thread: the "serve" handler starts the link's thread, which answers the
// next request while the main thread still sends the answer to "serve".
thread_local net::FileDescriptor *requestSocket = nullptr;

}  // namespace

MasterLink::MasterLink(net::FileDescriptor channel) : channel_(std::move(channel)) {}

MasterLink::~MasterLink() {
  // Unblocks the thread's receive; the master sees the worker's end close.
  ::shutdown(channel_.fd(), SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
}

bool MasterLink::answerUntil(const std::string &last,
                             const std::map<std::string, Handler> &handlers) {
  for (;;) {
    std::optional<std::string> answered = answerOne(handlers);
    if (!answered) return false;
    if (*answered == last) return true;
    if (*answered == "!" + last) return false;
  }
}

void MasterLink::answerInBackground(std::map<std::string, Handler> handlers) {
  thread_ = std::thread([this, handlers = std::move(handlers)] {
    while (answerOne(handlers)) {
    }
  });
}

net::FileDescriptor MasterLink::takeRequestSocket() {
  return requestSocket != nullptr ? std::move(*requestSocket) : net::FileDescriptor();
}

net::FileDescriptor MasterLink::takeSocket(const std::string &name) {
  std::lock_guard lock(socketsMutex_);
  auto found = sockets_.find(name);
  if (found == sockets_.end()) return net::FileDescriptor();
  net::FileDescriptor socket = found->second.release();
  sockets_.erase(found);
  return socket;
}

config::HeldFiles MasterLink::takeFiles() {
  std::lock_guard lock(socketsMutex_);
  return std::exchange(files_, {});
}

void MasterLink::dropUntakenSockets() {
  std::lock_guard lock(socketsMutex_);
  sockets_.clear();
}

std::optional<std::string> MasterLink::answerOne(const std::map<std::string, Handler> &handlers) {
  std::optional<process::Message> message = channel_.receive();
  if (!message) return std::nullopt;
  const Poco::JSON::Object &request = *message->body;
  std::string command = request.optValue<std::string>("command", "");
  if (command == "socket") {
    std::lock_guard lock(socketsMutex_);
    sockets_[request.optValue<std::string>("listener", "")] =
        net::HostDescriptor(std::move(message->socket));
    return std::string();
  }
  if (command == "file") {  // a TLS certificate or key, read by the master
    std::string contents = process::readWhole(message->socket.fd());
    std::lock_guard lock(socketsMutex_);
    files_[request.optValue<std::string>("path", "")] = std::move(contents);
    return std::string();
  }
  if (command == "ticket_keys") {  // a TLS listener's, made by the master: in use at once
    try {
      tls::TicketKeys::forListener(request.optValue<std::string>("listener", ""))
          ->replace(tls::decodeTicketKeys(process::readWhole(message->socket.fd())));
    } catch (const std::exception &error) {
      Poco::Logger::get("worker").error(std::string("keeping the session ticket keys: ") +
                                        error.what());
    }
    return std::string();
  }
  if (command == "log") {  // the daemon log or an access log, opened by the master
    try {
      logging::adoptFile(request.optValue<std::string>("path", ""), std::move(message->socket));
    } catch (const std::exception &error) {
      Poco::Logger::get("worker").error(std::string("keeping the old log file: ") + error.what());
    }
    return std::string();
  }
  Poco::JSON::Object reply;
  requestSocket = &message->socket;  // closed after the handler unless taken
  try {
    auto handler = handlers.find(command);
    if (handler == handlers.end()) throw std::runtime_error("unknown command '" + command + "'");
    handler->second(request, reply);
    reply.set("ok", true);
  } catch (const std::exception &error) {
    reply.clear();
    reply.set("ok", false);
    reply.set("error", std::string(error.what()));
  }
  requestSocket = nullptr;
  reply.set("id", request.optValue<int64_t>("id", 0));
  if (!channel_.send(reply)) return std::nullopt;
  // A failed last request does not end the setup: the master decides.
  return reply.getValue<bool>("ok") ? command : std::string("!") + command;
}

}  // namespace wharf::worker
