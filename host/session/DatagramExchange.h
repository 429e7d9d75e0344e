// Internal. One datagram exchange: a received datagram and the replies to its
// sender. Every write sends one datagram back to the peer; in blocking style
// read yields the received bytes, then end of input.
#pragma once

#include <cstdint>
#include <span>

#include "net/SocketAddress.h"
#include "session/Session.h"

namespace wharf::session {

class DatagramExchange : public Session {
 public:
  // OWNERSHIP: `datagram` is borrowed for the exchange's life.
  DatagramExchange(plugin::PluginInstance &instance, int socketFd, const net::SocketAddress &peer,
                   std::span<const uint8_t> datagram, const Ledger &ledger);

  wharf_status write(const void *data, size_t len) override;
  wharf_status read(void *buffer, size_t capacity, size_t *received) override;
  int carrier() const override { return socketFd_; }

  std::span<const uint8_t> datagram() const { return datagram_; }

 private:
  int socketFd_;  // the listener's; shared, not owned
  std::span<const uint8_t> datagram_;
  size_t readOffset_ = 0;
};

}  // namespace wharf::session
