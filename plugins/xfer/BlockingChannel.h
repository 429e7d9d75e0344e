// The channel of a blocking-style session (sync, thread, pool, fork): replies
// are written in place and files go with sendfile(2), kernel to kernel. The
// host's idle_timeout (SO_SNDTIMEO on the socket) ends a send to a peer that
// stopped reading.
#pragma once

#include <wharf/wharf.hpp>

#include "Channel.h"

namespace xfer {

class BlockingChannel final : public Channel {
 public:
  explicit BlockingChannel(wharf::Session &session) : session_(session) {}

  void send(std::string_view bytes) override { session_.write(bytes); }
  bool sendFile(common::Fd file, uint64_t size) override;
  void close() override { session_.close(); }
  void log(wharf_log_level level, std::string_view message) override {
    session_.log(level, message);
  }
  std::string peerAddress() const override {
    return addressWithoutPort(session_.addressText(WHARF_ADDRESS_PEER));
  }

 private:
  wharf::Session &session_;
};

}  // namespace xfer
