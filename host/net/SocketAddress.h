// Internal. A socket address of any family we serve (IPv4, IPv6, unix), as the
// kernel reports it, with the text form used in logs and by plugins.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace wharf::net {

class SocketAddress {
 public:
  SocketAddress() = default;
  SocketAddress(const sockaddr *address, socklen_t length);

  const sockaddr *get() const { return reinterpret_cast<const sockaddr *>(&storage_); }
  sockaddr *get() { return reinterpret_cast<sockaddr *>(&storage_); }
  socklen_t length() const { return length_; }
  socklen_t *lengthPointer() { return &length_; }
  static socklen_t capacity() { return sizeof(sockaddr_storage); }
  int family() const { return storage_.ss_family; }
  // An IPv4 or IPv6 address's port; 0 for a unix address.
  uint16_t port() const;
  // 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104.
  bool isLoopback() const;

  // A socket's own address and its peer's; nullopt if the kernel says none.
  static std::optional<SocketAddress> localOf(int socket);
  static std::optional<SocketAddress> peerOf(int socket);

  // "1.2.3.4:80", "[::1]:80", a unix path, or "" for an unnamed unix peer.
  std::string toString() const;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = sizeof(sockaddr_storage);
};

}  // namespace wharf::net
