#include "dispatch/ProxyGate.h"

#include <Poco/Logger.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "dispatch/Intake.h"

namespace wharf::dispatch {
namespace {

void refuseHeader(const DispatchContext &context, const net::SocketAddress &peer,
                  const std::string &reason) {
  context.admission.countRefusal(listener::Refusal::ProxyHeader);
  if (std::optional<uint64_t> leftOut = context.admission.refusalLog().admit())
    context.logger.warning("refused " + peer.toString() + " (proxy_header): " + reason +
                           listener::leftOutNote(*leftOut, "refusals"));
}

}  // namespace

bool proxyTrusted(const DispatchContext &context, const net::SocketAddress &peer) {
  if (peer.family() == AF_UNIX) return true;
  const auto &from = context.config.proxy.from;
  if (std::any_of(from.begin(), from.end(),
                  [&](const net::Cidr &network) { return network.contains(peer); }))
    return true;
  refuse(context, peer, listener::Refusal::ProxyFrom);
  return false;
}

HeaderRead readProxyHeader(const DispatchContext &context, int socket, net::SocketAddress &peer) {
  std::array<uint8_t, net::proxy::kMaxLength> received;
  ssize_t got;
  do {
    got = ::recv(socket, received.data(), received.size(), MSG_PEEK | MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return HeaderRead::Waiting;
  if (got <= 0) {
    refuseHeader(context, peer, got == 0 ? "closed before its header" : std::strerror(errno));
    return HeaderRead::Refused;
  }
  auto result = net::proxy::parse(std::span(received.data(), static_cast<size_t>(got)),
                                  *context.config.proxy.accepted);
  switch (result.status) {
    case net::proxy::Result::Status::Incomplete:
      return HeaderRead::Waiting;
    case net::proxy::Result::Status::Invalid:
      refuseHeader(context, peer, result.error);
      return HeaderRead::Refused;
    case net::proxy::Result::Status::Complete:
      break;
  }
  // The peeked header is in the socket's queue: this takes exactly it.
  if (::recv(socket, received.data(), result.header.length, MSG_DONTWAIT) !=
      static_cast<ssize_t>(result.header.length)) {
    refuseHeader(context, peer, "could not take the header off the socket");
    return HeaderRead::Refused;
  }
  if (!result.header.local) peer = result.header.source;
  return HeaderRead::Done;
}

void refuseSlowHeaders(const DispatchContext &context, size_t count) {
  refuseWaited(context, listener::Refusal::ProxyHeader, count,
               "whose PROXY header did not come whole within proxy_timeout");
}

}  // namespace wharf::dispatch
