// The data connection of the next transfer, as PASV/EPSV (we listen) or
// PORT/EPRT (we connect) set it up. Passive connections are taken only from
// the control connection's client; others are closed and logged, and the
// real client is still awaited. Behind a load balancer, the client of a
// connection is the one its PROXY header names. One transfer per setup, as
// RFC 959 has it.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "Fd.h"

namespace ftp {

class DataChannel {
 public:
  using Log = std::function<void(const std::string &)>;
  // The client of an accepted connection, as the host judges it; nullopt:
  // refuse it (the host logged why).
  using ClientOf = std::function<std::optional<sockaddr_storage>(int fd)>;

  DataChannel(uint16_t firstPort, uint16_t lastPort, ClientOf clientOf, Log log)
      : firstPort_(firstPort),
        lastPort_(lastPort),
        clientOf_(std::move(clientOf)),
        log_(std::move(log)) {}

  // Listens on `local`'s address (the control connection's); false with errno.
  bool listenPassive(const sockaddr_storage &local, uint16_t &port);
  // PORT/EPRT: where to connect when a transfer starts.
  void connectTo(const sockaddr_storage &target);
  bool ready() const { return listener_.valid() || hasTarget_; }
  void clear();
  // How long a passive port may still wait for a transfer command, `limit`
  // after it opened (nullopt: none open). A client that opens one and never
  // uses it must not hold a port of the range.
  std::optional<std::chrono::milliseconds> passiveLeft(std::chrono::milliseconds limit) const;
  void closeIdlePassive();

  // A non-blocking socket connected for one transfer, or an invalid Fd with
  // the reason in `error`. Clears the setup either way.
  Fd open(const sockaddr_storage &controlLocal, const sockaddr_storage &controlPeer,
          std::chrono::milliseconds timeout, std::string &error);

 private:
  Fd acceptFrom(const sockaddr_storage &controlPeer, std::chrono::milliseconds timeout,
                std::string &error);
  Fd connectActive(const sockaddr_storage &controlLocal, std::chrono::milliseconds timeout,
                   std::string &error);

  uint16_t firstPort_, lastPort_;
  ClientOf clientOf_;
  Log log_;
  Fd listener_;
  std::chrono::steady_clock::time_point listeningSince_;
  sockaddr_storage target_{};
  bool hasTarget_ = false;
};

// The IP part of an address as text ("192.0.2.1", "2001:db8::1"); IPv4-mapped
// IPv6 addresses as IPv4.
std::string ipText(const sockaddr_storage &address);
// Whether two addresses have the same IP (ports ignored; IPv4-mapped = IPv4).
bool sameIp(const sockaddr_storage &a, const sockaddr_storage &b);

}  // namespace ftp
