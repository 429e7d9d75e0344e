#include "net/ProxyHeaderReader.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace wharf::net::proxy {
namespace {

Result invalid(std::string why) {
  return {Result::Status::Invalid, {}, std::move(why)};
}

}  // namespace

Result take(int socket, std::vector<uint8_t> &received, Accepted accepted) {
  // On the stack: the usual header comes whole at the first try, and costs
  // no allocation. What came of it before is in front.
  uint8_t bytes[kMaxLength];
  size_t before = std::min(received.size(), kMaxLength);
  if (before > 0) std::memcpy(bytes, received.data(), before);
  ssize_t got;
  do {
    got = ::recv(socket, bytes + before, kMaxLength - before, MSG_PEEK | MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return {Result::Status::Incomplete, {}, {}};
  if (got <= 0) return invalid(got == 0 ? "closed before its header" : std::strerror(errno));
  Result result =
      parse(std::span<const uint8_t>(bytes, before + static_cast<size_t>(got)), accepted);
  if (result.status == Result::Status::Invalid) return result;
  // Incomplete: every byte peeked belongs to the header; complete: its rest.
  size_t taken = result.status == Result::Status::Complete ? result.header.length - before
                                                           : static_cast<size_t>(got);
  // The same bytes again, now taken off the socket.
  if (::recv(socket, bytes + before, taken, MSG_DONTWAIT) != static_cast<ssize_t>(taken))
    return invalid("could not take the header off the socket");
  if (result.status == Result::Status::Incomplete) received.assign(bytes, bytes + before + taken);
  return result;
}

Result await(int socket, Accepted accepted, std::chrono::steady_clock::time_point deadline) {
  std::vector<uint8_t> received;
  for (;;) {
    Result result = take(socket, received, accepted);
    if (result.status != Result::Status::Incomplete) return result;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return invalid("did not come whole in time");
    pollfd readable{socket, POLLIN, 0};
    if (::poll(&readable, 1, static_cast<int>(left.count()) + 1) < 0 && errno != EINTR)
      return invalid(std::strerror(errno));
  }
}

}  // namespace wharf::net::proxy
