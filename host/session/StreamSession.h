// Internal. A stream connection served on a blocking socket by its own thread
// (or process). Event style: writes queue and StreamRunner flushes them;
// blocking style: writes and reads go straight to the socket.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "net/FileDescriptor.h"
#include "session/Agenda.h"
#include "session/HandoverBell.h"
#include "session/Session.h"
#include "session/SessionCarrier.h"
#include "tls/TlsStream.h"

namespace wharf::session {

class StreamSession : public Session {
 public:
  StreamSession(plugin::PluginInstance &instance, net::FileDescriptor connection,
                const net::SocketAddress &peer, Style style, const Ledger &ledger);
  ~StreamSession() override;

  wharf_status write(const void *data, size_t len) override;
  wharf_status read(void *buffer, size_t capacity, size_t *received) override;
  int carrier() const override { return connection_.fd(); }
  size_t pendingOutput() const override { return output_.size(); }
  int socket() const override;
  const tls::TlsStream *tls() const override { return tls_.get(); }
  void cut(CutReason why) override;

  Agenda *agenda() override { return style_ == Style::Event ? &agenda_ : nullptr; }
  wharf_status pauseInput(bool paused) override;

  // Live migration of a blocking-style session (SDK 1.6): `carrier` says
  // where a hand-over goes; without one (fork mode) the session never moves.
  void carryWith(SessionCarrier *carrier) { carrier_ = carrier; }
  int handoverFd() override;
  // The most a blocking session's import may write: it waits in memory
  // until the session is the newer code's (a thousand arrive at once).
  static constexpr size_t kMaxImportOutput = 1 << 20;
  // Runs the newer code's session_import; on success the session is frozen
  // (Handover::Leaving) until serve() returns, and takeCarried() has it.
  wharf_status handOver(std::span<const uint8_t> state) override;
  // After serve() (or resume) returned: where the session goes on, and the
  // state the newer code's session_import made; nullopt if it was not handed over.
  struct Carried {
    SessionCarrier::Destination destination;
    void *state;
    std::chrono::steady_clock::time_point since;  // when the plugin handed it over
  };
  std::optional<Carried> takeCarried();
  // The session is the destination's from now on (the old generation may
  // go), and what its import wrote goes to the client.
  void settle(const Carried &carried);
  HandoverBell &bell() { return bell_; }

  // tls = on: the handshake, bounded by tls_handshake_timeout; false: it
  // failed (logged), and the session ends before the plugin sees it.
  bool startTls(std::shared_ptr<const tls::ServerContext> context);

  // For the runner. flush: sends the queued output (false: the peer is gone).
  bool flush();
  // Blocks for input; 0 when the peer closed, -1 on error. Event style over
  // TLS: kWouldBlock when no whole record has come yet (wait() again).
  ssize_t receive(void *buffer, size_t capacity);
  static constexpr ssize_t kWouldBlock = -2;

  enum class Wait { Input, Agenda, Idle, Gone };
  // Event style, for a session that paused or scheduled something: waits for
  // input (unless paused), a timer or a post, up to idle_timeout without
  // traffic. Plain sessions just block in receive().
  bool mustWait() const { return paused_ || agenda_.inUse() || tls_; }
  Wait wait();

 private:
  bool sendAll(const char *data, size_t len);
  ssize_t receiveTls(void *buffer, size_t capacity);
  // TLS: the socket's bytes either way since the last look, as traffic.
  void noteTlsTraffic();
  // TLS: waits for `events` on the socket until idle_timeout has passed
  // without traffic; false then.
  bool waitForSocket(short events);
  // idle_timeout, as the dispatcher set it on the socket (SO_RCVTIMEO).
  std::chrono::microseconds idleLimit();
  // Bytes moved either way: lastTraffic_, and the progress window.
  void noteTraffic(size_t bytes);

  net::FileDescriptor connection_;
  Style style_;
  std::string output_;
  Agenda agenda_;
  bool paused_ = false;
  std::chrono::steady_clock::time_point lastTraffic_ = std::chrono::steady_clock::now();
  std::optional<std::chrono::microseconds> idleLimit_;  // read once, by idleLimit()
  // Progress, not bytes: an idle_timeout window in which fewer than
  // kMinProgress bytes moved either way makes the peer a dripper, closed as
  // idle, so that one byte now and then holds a thread no longer than silence.
  std::chrono::steady_clock::time_point windowStart_ = lastTraffic_;
  size_t windowBytes_ = 0;
  bool dripping_ = false;
  // The plugin may read and write it unseen. Atomic: cut() reads it from another thread.
  mutable std::atomic<bool> socketLent_ = false;
  std::atomic<int> cuts_ = 0;
  SessionCarrier *carrier_ = nullptr;
  // The thread serving it (made there): a hand-over from any other would
  // race serve() for the session while the newer code imports it.
  std::thread::id servingThread_ = std::this_thread::get_id();
  HandoverBell bell_;
  std::optional<Carried> carried_;
  // tls = on: what goes through the socket is TLS records; the plugin never has the socket.
  std::unique_ptr<tls::TlsStream> tls_;
  uint64_t tlsBytesSeen_ = 0;  // of tls_->socketBytes(), those noteTraffic has had
};

}  // namespace wharf::session
