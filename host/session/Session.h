// Internal. The host side of one session (a stream connection or a datagram
// exchange): what the host API's session_* functions act on. The C handle
// `wharf_session *` handed to the plugin points into this object.
#pragma once

#include <wharf/wharf.h>

#include <string>
#include <string_view>

#include "net/SocketAddress.h"
#include "plugin/PluginInstance.h"
#include "session/Cuttable.h"

namespace wharf::session {
class Session;
}

struct wharf_session {
  wharf::session::Session *self;
};

namespace wharf::session {

// How the plugin serves this session: which hooks the host calls.
enum class Style { Event, Blocking };

class Session : public Cuttable {
 public:
  Session(plugin::PluginInstance &instance, const net::SocketAddress &peer) noexcept
      : instance_(instance), peerAddress_(peer) {}
  ~Session() override = default;
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  static Session &from(const wharf_session *handle) { return *handle->self; }
  wharf_session *handle() { return &handle_; }

  // THREAD (all): the thread running this session's hooks.
  virtual wharf_status write(const void *data, size_t len) = 0;
  virtual wharf_status read(void *buffer, size_t capacity, size_t *received) = 0;
  virtual size_t pendingOutput() const { return 0; }
  // The socket a blocking-style stream session may use directly; -1 otherwise.
  virtual int socket() const { return -1; }
  void requestClose() { closeRequested_ = true; }
  // Any thread: ends the session from outside (a deadline passed). A blocked
  // read or write returns; the plugin sees the peer gone.
  void cut() override {}
  bool closeRequested() const { return closeRequested_; }

  plugin::PluginInstance &instance() const { return instance_; }
  // The peer as text, formatted on first use (most sessions never need it).
  const std::string &peer() const;
  const net::SocketAddress &peerAddress() const { return peerAddress_; }
  // Logs through the listener's logger, naming the peer.
  void log(int priority, std::string_view message) const;
  // Logs that idle_timeout closes the session: at most 10 such lines a second
  // per listener, so thousands of silent peers cannot flood the log.
  void logIdleClose() const;
  // True for WHARF_OK; otherwise logs that `hook` failed and the session closes.
  bool hookSucceeded(wharf_status status, const char *hook) const;

 private:
  plugin::PluginInstance &instance_;
  net::SocketAddress peerAddress_;
  mutable std::string peerText_;
  mutable bool peerFormatted_ = false;
  wharf_session handle_{this};
  bool closeRequested_ = false;
};

}  // namespace wharf::session
