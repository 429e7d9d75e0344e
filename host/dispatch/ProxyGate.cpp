#include "dispatch/ProxyGate.h"

#include "dispatch/Intake.h"
#include "net/ProxyHeaderReader.h"

namespace wharf::dispatch {
bool proxyTrusted(const DispatchContext &context, const net::SocketAddress &peer) {
  if (context.config.proxy.trusts(peer)) return true;
  refuse(context, peer, listener::Refusal::ProxyFrom);
  return false;
}

HeaderRead readProxyHeader(const DispatchContext &context, int socket,
                           std::vector<uint8_t> &received, net::SocketAddress &peer) {
  auto result = net::proxy::take(socket, received, *context.config.proxy.accepted);
  switch (result.status) {
    case net::proxy::Result::Status::Incomplete:
      return HeaderRead::Waiting;
    case net::proxy::Result::Status::Invalid:
      refuse(context, peer, listener::Refusal::ProxyHeader, result.error);
      return HeaderRead::Refused;
    case net::proxy::Result::Status::Complete:
      break;
  }
  if (!result.header.local) peer = result.header.source;
  return HeaderRead::Done;
}

void refuseSlowHeaders(const DispatchContext &context, size_t count) {
  refuseWaited(context, listener::Refusal::ProxyHeader, count,
               "whose PROXY header did not come whole within proxy_timeout");
}

}  // namespace wharf::dispatch
