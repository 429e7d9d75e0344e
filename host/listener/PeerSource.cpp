#include "listener/PeerSource.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

namespace wharf::listener {

std::string peerSource(const net::SocketAddress &peer) {
  if (peer.family() == AF_INET6) {
    in6_addr network = reinterpret_cast<const sockaddr_in6 *>(peer.get())->sin6_addr;
    if (!IN6_IS_ADDR_V4MAPPED(&network)) {
      std::fill(network.s6_addr + 8, network.s6_addr + 16, 0);
      char text[INET6_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET6, &network, text, sizeof text);
      return std::string(text) + "/64";
    }
  }
  if (peer.family() != AF_INET && peer.family() != AF_INET6) return "";
  std::string text = peer.toString();
  return text.substr(0, text.rfind(':'));
}

}  // namespace wharf::listener
