// The channel of an event-style session (any mode; the only one on the
// reactor). A file goes a chunk at a time: the next is read and written only
// when the host has sent the last (on_session_writable), so a download holds
// one chunk of memory however large the file and however slow the peer.
#pragma once

#include <optional>
#include <wharf/wharf.hpp>

#include "Channel.h"
#include "FileChunks.h"

namespace xfer {

class EventChannel final : public Channel {
 public:
  explicit EventChannel(wharf::Session &session) : session_(session.handle()) {}

  void send(std::string_view bytes) override { wharf::Session(session_).write(bytes); }
  bool sendFile(common::Fd file, uint64_t size) override;
  void close() override { wharf::Session(session_).close(); }
  void log(wharf_log_level level, std::string_view message) override {
    wharf::Session(session_).log(level, message);
  }
  std::string peerAddress() const override {
    return addressWithoutPort(wharf::Session(session_).addressText(WHARF_ADDRESS_PEER));
  }

  // On on_session_writable: writes the next chunk of the file. True once it has all gone.
  bool sendMore();
  bool sending() const { return file_.has_value(); }

 private:
  wharf_session *session_;          // valid until on_session_close, which ends this channel
  std::optional<FileChunks> file_;  // while a file is being sent
};

}  // namespace xfer
