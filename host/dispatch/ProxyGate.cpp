#include "dispatch/ProxyGate.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dispatch/Intake.h"

namespace wharf::dispatch {
bool proxyTrusted(const DispatchContext &context, const net::SocketAddress &peer) {
  if (peer.family() == AF_UNIX) return true;
  const auto &from = context.config.proxy.from;
  if (std::any_of(from.begin(), from.end(),
                  [&](const net::Cidr &network) { return network.contains(peer); }))
    return true;
  refuse(context, peer, listener::Refusal::ProxyFrom);
  return false;
}

HeaderRead readProxyHeader(const DispatchContext &context, int socket,
                           std::vector<uint8_t> &received, net::SocketAddress &peer) {
  size_t before = received.size();
  received.resize(net::proxy::kMaxLength);
  ssize_t got;
  do {
    got =
        ::recv(socket, received.data() + before, received.size() - before, MSG_PEEK | MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  received.resize(before + std::max<ssize_t>(got, 0));
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return HeaderRead::Waiting;
  if (got <= 0) {
    refuse(context, peer, listener::Refusal::ProxyHeader,
           got == 0 ? "closed before its header" : std::strerror(errno));
    return HeaderRead::Refused;
  }
  auto result = net::proxy::parse(received, *context.config.proxy.accepted);
  if (result.status == net::proxy::Result::Status::Invalid) {
    refuse(context, peer, listener::Refusal::ProxyHeader, result.error);
    return HeaderRead::Refused;
  }
  // Incomplete: every byte peeked belongs to the header; complete: its rest.
  size_t take = result.status == net::proxy::Result::Status::Complete
                    ? result.header.length - before
                    : received.size() - before;
  // The same bytes again, now taken off the socket.
  if (::recv(socket, received.data() + before, take, MSG_DONTWAIT) != static_cast<ssize_t>(take)) {
    refuse(context, peer, listener::Refusal::ProxyHeader,
           "could not take the header off the socket");
    return HeaderRead::Refused;
  }
  if (result.status == net::proxy::Result::Status::Incomplete) return HeaderRead::Waiting;
  if (!result.header.local) peer = result.header.source;
  return HeaderRead::Done;
}

void refuseSlowHeaders(const DispatchContext &context, size_t count) {
  refuseWaited(context, listener::Refusal::ProxyHeader, count,
               "whose PROXY header did not come whole within proxy_timeout");
}

}  // namespace wharf::dispatch
