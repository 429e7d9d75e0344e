// What a conversation needs from its connection. The event channel queues
// and sends a file a chunk at a time as the peer reads; the blocking channel
// writes in place and sends files with sendfile(2).
#pragma once

#include <wharf/wharf.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/Fd.h"

namespace xfer {

// "203.0.113.9:5000" -> "203.0.113.9", "[2001:db8::1]:5000" -> "[2001:db8::1]".
inline std::string addressWithoutPort(const std::string &address) {
  size_t colon = address.rfind(':');
  bool bareIpv6 = address.find(':') != colon && address[0] != '[';
  return colon == std::string::npos || bareIpv6 ? address : address.substr(0, colon);
}

class Channel {
 public:
  virtual ~Channel() = default;
  // Bytes to the peer; nothing if the session has closed (its close ends the
  // conversation soon). Throws wharf::Error if the host refuses the call.
  virtual void send(std::string_view bytes) = 0;
  // Starts sending `size` bytes of `file`: true once they have all gone;
  // false when the channel will call Conversation::fileSent() later.
  // Throws std::runtime_error if the file or the peer fails.
  virtual bool sendFile(common::Fd file, uint64_t size) = 0;
  // Ends the session once what was sent has gone.
  virtual void close() = 0;
  virtual void log(wharf_log_level level, std::string_view message) = 0;
  // The client's address without its port ("203.0.113.9"); empty if it has none.
  virtual std::string peerAddress() const = 0;
};

}  // namespace xfer
