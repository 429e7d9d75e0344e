// What a conversation needs from its connection. The event channel queues
// and sends a file a chunk at a time as the peer reads; the blocking channel
// writes in place and sends files with sendfile(2).
#pragma once

#include <wharf/wharf.h>

#include <cstdint>
#include <string_view>

#include "common/Fd.h"

namespace xfer {

class Channel {
 public:
  virtual ~Channel() = default;
  // Throws wharf::Error if the session is closed.
  virtual void send(std::string_view bytes) = 0;
  // Starts sending `size` bytes of `file`: true once they have all gone;
  // false when the channel will call Conversation::fileSent() later.
  // Throws std::runtime_error if the file or the peer fails.
  virtual bool sendFile(common::Fd file, uint64_t size) = 0;
  // Ends the session once what was sent has gone.
  virtual void close() = 0;
  virtual void log(wharf_log_level level, std::string_view message) = 0;
};

}  // namespace xfer
