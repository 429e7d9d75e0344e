// Internal. The host side of one session (a stream connection or a datagram
// exchange): what the host API's session_* functions act on. The C handle
// `wharf_session *` handed to the plugin points into this object.
#pragma once

#include <wharf/wharf.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "net/SocketAddress.h"
#include "plugin/PluginInstance.h"
#include "session/Cuttable.h"
#include "session/Ledger.h"

namespace wharf::session {
class Session;
class Agenda;
}  // namespace wharf::session

struct wharf_session {
  wharf::session::Session *self;
};

namespace wharf::session {

// How the plugin serves this session: which hooks the host calls.
enum class Style { Event, Blocking };

class Session : public Cuttable {
 public:
  Session(plugin::PluginInstance &instance, const net::SocketAddress &peer,
          const Ledger &ledger) noexcept
      : instance_(instance), peerAddress_(peer), ledger_(ledger) {}
  // Writes the session down in its ledger: counters, and the access log line.
  ~Session() override;
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
  // The socket that carries the session, for its addresses: a stream
  // session's connection, a datagram exchange's listener (shared).
  virtual int carrier() const = 0;
  // Event-style stream sessions (SDK 1.2): what they have scheduled, and
  // whether they read. nullptr and WHARF_UNSUPPORTED for the others.
  virtual Agenda *agenda() { return nullptr; }
  virtual wharf_status pauseInput(bool) { return WHARF_UNSUPPORTED; }
  // Whether the session's thread may block in a host call (not a reactor's).
  virtual bool mayBlock() const { return true; }
  void requestClose() { closeRequested_ = true; }
  // Any thread: ends the session from outside (a deadline passed). A blocked
  // read or write returns; the plugin sees the peer gone.
  void cut(CutReason) override {}
  bool closeRequested() const { return closeRequested_; }
  // Why the session ends (session_end_reason); WHARF_END_NONE while it goes on.
  wharf_end_reason endReason() const;
  // The host ended it: a cut, or idle_timeout.
  bool endedByHost() const;

  plugin::PluginInstance &instance() const { return instance_; }
  // The peer as text, formatted on first use (most sessions never need it).
  const std::string &peer() const;
  const net::SocketAddress &peerAddress() const { return peerAddress_; }
  // One of the session's addresses (session_address); nullopt if it has none such.
  std::optional<net::SocketAddress> address(wharf_address which) const;
  // Logs through the listener's logger, naming the peer.
  void log(int priority, std::string_view message) const;
  // idle_timeout closes the session: noted, and logged at most 10 times a
  // second per listener, so thousands of silent peers cannot flood the log.
  void endIdle();
  // True for WHARF_OK; otherwise logs that `hook` failed and the session closes.
  bool hookSucceeded(wharf_status status, const char *hook);

 protected:
  // THREAD: the session's. Bytes that went through the host for this session.
  void countIn(size_t bytes) { tally_.bytesIn += bytes; }
  void countOut(size_t bytes) { tally_.bytesOut += bytes; }
  // How the session ends: the first reason noted wins (the plugin closing it,
  // if none is); a cut overrides all but an error.
  void noteEnding(Ending ending) {
    if (!endingNoted_) tally_.ending = ending;
    endingNoted_ = true;
  }
  // THREAD: any (cut() runs on another thread).
  void noteCut(CutReason why) {
    cutWhy_.store(why, std::memory_order_relaxed);
    cut_.store(true, std::memory_order_release);  // endReason() sees the reason with it
  }
  // For a plugin that used the socket itself: the counts the kernel kept.
  void setBytes(uint64_t in, uint64_t out) {
    tally_.bytesIn = in;
    tally_.bytesOut = out;
  }

 private:
  void noteError(std::string message);
  // The ending as it stands: an error outranks a cut, which outranks the
  // first ending noted (Plugin if none was).
  Ending ending() const;
  plugin::PluginInstance &instance_;
  net::SocketAddress peerAddress_;
  mutable std::string peerText_;
  mutable bool peerFormatted_ = false;
  wharf_session handle_{this};
  bool closeRequested_ = false;
  Ledger ledger_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  SessionTally tally_;
  bool endingNoted_ = false;
  std::atomic<bool> cut_{false};
  std::atomic<CutReason> cutWhy_{CutReason::Shutdown};
  std::string error_;
};

}  // namespace wharf::session
