#include "session/DatagramExchange.h"

#include <Poco/Message.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace wharf::session {

DatagramExchange::DatagramExchange(plugin::PluginInstance &instance, int socketFd,
                                   const net::SocketAddress &peer,
                                   std::span<const uint8_t> datagram, const Ledger &ledger)
    : Session(instance, peer, ledger), socketFd_(socketFd), datagram_(datagram) {
  countIn(datagram.size());
}

wharf_status DatagramExchange::write(const void *data, size_t len) {
  if (closeRequested()) return WHARF_CLOSED;
  for (;;) {
    ssize_t sent =
        ::sendto(socketFd_, data, len, MSG_NOSIGNAL, peerAddress().get(), peerAddress().length());
    if (sent < 0 && errno == EINTR) continue;
    if (sent >= 0) {
      countOut(static_cast<size_t>(sent));
      return WHARF_OK;
    }
    log(Poco::Message::PRIO_DEBUG, std::string("reply not sent: ") + std::strerror(errno));
    return WHARF_CLOSED;
  }
}

wharf_status DatagramExchange::read(void *buffer, size_t capacity, size_t *received) {
  size_t count = std::min(capacity, datagram_.size() - readOffset_);
  std::memcpy(buffer, datagram_.data() + readOffset_, count);
  readOffset_ += count;
  *received = count;
  return WHARF_OK;
}

}  // namespace wharf::session
