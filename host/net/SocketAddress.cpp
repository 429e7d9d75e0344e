#include "net/SocketAddress.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

namespace wharf::net {

SocketAddress::SocketAddress(const sockaddr *address, socklen_t length)
    : length_(length <= sizeof storage_ ? length : sizeof storage_) {
  std::memcpy(&storage_, address, length_);
}

std::optional<SocketAddress> SocketAddress::localOf(int socket) {
  SocketAddress address;
  if (::getsockname(socket, address.get(), address.lengthPointer()) != 0) return std::nullopt;
  return address;
}

std::optional<SocketAddress> SocketAddress::peerOf(int socket) {
  SocketAddress address;
  if (::getpeername(socket, address.get(), address.lengthPointer()) != 0) return std::nullopt;
  return address;
}

std::string SocketAddress::toString() const {
  char text[INET6_ADDRSTRLEN] = {};
  switch (storage_.ss_family) {
    case AF_INET: {
      auto *in = reinterpret_cast<const sockaddr_in *>(&storage_);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
      return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
    }
    case AF_INET6: {
      auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&storage_);
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
      return "[" + std::string(text) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    case AF_UNIX: {
      auto *un = reinterpret_cast<const sockaddr_un *>(&storage_);
      size_t pathLength =
          length_ > offsetof(sockaddr_un, sun_path) ? length_ - offsetof(sockaddr_un, sun_path) : 0;
      return std::string(un->sun_path, strnlen(un->sun_path, pathLength));
    }
    default:
      return "?";
  }
}

bool SocketAddress::isLoopback() const {
  if (family() == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in *>(get())->sin_addr.s_addr) >> 24) == 127;
  if (family() == AF_INET6) {
    const in6_addr &ip = reinterpret_cast<const sockaddr_in6 *>(get())->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&ip) || (IN6_IS_ADDR_V4MAPPED(&ip) && ip.s6_addr[12] == 127);
  }
  return false;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in *>(get())->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6 *>(get())->sin6_port);
  return 0;
}

}  // namespace wharf::net
