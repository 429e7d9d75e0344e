#include "session/AcceptedClient.h"

#include <Poco/Message.h>

#include <chrono>

#include "net/ProxyHeaderReader.h"

namespace wharf::session {

wharf_status acceptedClient(const Session &session, int fd, net::SocketAddress &client) {
  std::optional<net::SocketAddress> peer = net::SocketAddress::peerOf(fd);
  if (!peer) return WHARF_INVALID;
  const config::ProxySettings &proxy = session.instance().proxy();
  if (!proxy.enabled() || !proxy.trusts(*peer)) {
    client = *peer;  // not the balancer's: it speaks for itself
    return WHARF_OK;
  }
  auto result =
      net::proxy::await(fd, *proxy.accepted, std::chrono::steady_clock::now() + proxy.timeout);
  if (result.status != net::proxy::Result::Status::Complete) {
    session.log(Poco::Message::PRIO_WARNING, "refused a connection from " + peer->toString() +
                                                 " for this session: PROXY header " + result.error);
    return WHARF_INVALID;
  }
  client = result.header.local ? *peer : result.header.source;
  return WHARF_OK;
}

}  // namespace wharf::session
