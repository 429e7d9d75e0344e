#include "process/Channel.h"

#include <Poco/JSON/Parser.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "net/DescriptorPassing.h"

namespace wharf::process {
namespace {

// A status reply lists every listener: room for thousands of them.
constexpr int kBufferSize = 4 << 20;

}  // namespace

std::pair<Channel, Channel> Channel::pair() {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  for (int end : ends)
    for (int option : {SO_SNDBUF, SO_RCVBUF})
      ::setsockopt(end, SOL_SOCKET, option, &kBufferSize, sizeof kBufferSize);
  return {Channel(net::FileDescriptor(ends[0])), Channel(net::FileDescriptor(ends[1]))};
}

namespace {

// sendmsg's errno, taken before the text's buffers are freed.
Channel::Sent sendJson(int end, const Poco::JSON::Object &body, int socket, int flags) {
  std::ostringstream text;
  body.stringify(text);
  std::string bytes = text.str();
  iovec part{bytes.data(), bytes.size()};
  ssize_t sent = net::sendWithDescriptor(end, &part, 1, socket, flags);
  if (sent == static_cast<ssize_t>(bytes.size())) return Channel::Sent::Whole;
  return sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? Channel::Sent::WouldWait
                                                               : Channel::Sent::Failed;
}

}  // namespace

bool Channel::send(const Poco::JSON::Object &body, int socket) const {
  return sendJson(end_.fd(), body, socket, 0) == Sent::Whole;
}

Channel::Sent Channel::trySend(const Poco::JSON::Object &body, int socket) const {
  return sendJson(end_.fd(), body, socket, MSG_DONTWAIT);
}

std::optional<Message> Channel::receive(std::optional<std::chrono::milliseconds> timeout) const {
  pollfd ready{end_.fd(), POLLIN, 0};
  int waited;
  do {
    waited = ::poll(&ready, 1, timeout ? static_cast<int>(timeout->count()) : -1);
  } while (waited < 0 && errno == EINTR);
  if (waited <= 0) return std::nullopt;
  // MSG_PEEK|MSG_TRUNC: the message's length, so the buffer fits it whole.
  char probe;
  ssize_t length;
  do {
    length = ::recv(end_.fd(), &probe, 1, MSG_PEEK | MSG_TRUNC);
  } while (length < 0 && errno == EINTR);
  if (length <= 0) return std::nullopt;
  std::vector<char> bytes(static_cast<size_t>(length));
  iovec part{bytes.data(), bytes.size()};
  Message received;
  ssize_t got = net::receiveWithDescriptor(end_.fd(), &part, 1, received.socket);
  if (got <= 0) return std::nullopt;
  try {
    received.body = Poco::JSON::Parser()
                        .parse(std::string(bytes.data(), static_cast<size_t>(got)))
                        .extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception &) {
    return std::nullopt;
  }
  if (!received.body) return std::nullopt;
  return received;
}

}  // namespace wharf::process
