// Internal. A stream connection served by an event loop on a non-blocking
// socket, for event-style plugins. A write goes straight to the socket when
// nothing is queued (no copy on the common path); what the kernel does not
// take is queued and flushed when the socket is writable. With tls = on, the
// handshake runs on the loop first (one step per readiness event), and the
// plugin's session opens once it is done.
// THREAD: the loop's, except cut().
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "net/FileDescriptor.h"
#include "net/SendProgress.h"
#include "session/Agenda.h"
#include "session/Migration.h"
#include "session/OutputQueue.h"
#include "session/Session.h"
#include "tls/TlsStream.h"

namespace wharf::session {

class ReactorSession : public Session {
 public:
  // `tls`: the listener's context with tls = on, else null.
  ReactorSession(plugin::PluginInstance &instance, net::FileDescriptor connection,
                 const net::SocketAddress &peer, size_t outputHighWater, const Ledger &ledger,
                 std::shared_ptr<const tls::ServerContext> tls);
  ~ReactorSession() override;  // on_session_close, if it opened

  // on_session_open (with tls = on, once the handshake is done); false: the
  // session ends at once.
  bool open();
  // tls = on: whether the handshake has not ended by `deadline`.
  bool handshakeOverdue(std::chrono::steady_clock::time_point now) const;
  // Ends a session whose handshake failed or is overdue.
  void endHandshake(tls::Failure failure, const std::string &why);
  // Handles EPOLL* `events`, reading into the loop's shared `buffer`.
  void onReady(uint32_t events, uint8_t *buffer, size_t capacity);
  // The EPOLL* events the session waits for now.
  uint32_t wantedEvents() const;
  bool finished() const { return finished_; }
  // When bytes last moved either way: idle_timeout closes a session whose peer neither sends
  // nor reads (a long download keeps its session).
  std::chrono::steady_clock::time_point lastTraffic() const { return lastTraffic_; }
  // For a session that looks idle: true (and traffic now) if the peer has read some of what
  // the kernel still holds for it since the last look.
  bool peerStillReading(std::chrono::steady_clock::time_point now);
  // When the peer last took any of the session's output (send_timeout
  // closes a session whose output has waited longer).
  std::chrono::steady_clock::time_point lastSent() const { return lastSent_; }
  // The host closes it for its peer: `ending` is IdleTimeout, SendTimeout or
  // OverBudget. What waits for the peer is dropped.
  void endForPeer(Ending ending);
  int fd() const { return connection_.fd(); }

  // Live migration (migrate = on): moves the session onto `next`, the
  // instance of plugin generation `nextGeneration`. Busy: not quiescent now
  // (wharf.h says what that is); try again later. NotCarried: the old plugin
  // has no session_export or the new one no session_import. Refused: the
  // export or the import failed; the session stays, untouched. Moved: the
  // new code serves it, and the old state was freed (on_session_close,
  // WHARF_END_MIGRATED). The caller stops watching the agenda's mailbox
  // before a try (an idle agenda's is let go).
  using Migration = session::Migration;
  Migration migrateTo(plugin::PluginInstance &next, uint64_t generation);
  // Whether a try could move it now (its mailbox may then go).
  bool quiescent();

  // Live migration to another worker (this one retiring). handOut: if
  // quiescent, session_export into `state`, and the session stays frozen
  // (Handover::Exporting) until the other worker answers: leave() if it took
  // the session (the old state's on_session_close, WHARF_END_MIGRATED; the
  // connection is not shut down, it lives on there), thaw() if not (it goes
  // on here). Stays: a TLS session (its keys cannot leave OpenSSL) or a
  // plugin without session_export.
  enum class HandOut { Exported, Busy, Stays, Refused };
  HandOut handOut(std::vector<uint8_t> &state);
  void leave();
  void thaw();
  // The other end of it: instead of open(), session_import of the serving
  // code from `fromVersion`'s export (the new code may close it at once:
  // finished()). False: refused; the session is then
  // let go unrecorded, its connection not shut down (it stays the old
  // worker's).
  bool adopt(const std::string &fromVersion, const std::vector<uint8_t> &state);

  wharf_status write(const void *data, size_t len) override;
  wharf_status read(void *, size_t, size_t *) override { return WHARF_UNSUPPORTED; }
  size_t pendingOutput() const override { return output_.size(); }
  int carrier() const override { return connection_.fd(); }
  const tls::TlsStream *tls() const override { return handshaking() ? nullptr : tls_.get(); }
  bool mayBlock() const override { return false; }
  // None while the session is frozen (a migration's export, or its old state's close).
  Agenda *agenda() override { return frozen() ? nullptr : &agenda_; }
  wharf_status pauseInput(bool paused) override;
  // A timer or a post is due (its descriptor was readable): runs it.
  void runAgenda();
  void cut(CutReason why) override;

 private:
  void receive(uint8_t *buffer, size_t capacity);
  void flush();
  // One step of the TLS handshake; on_session_open once it is done.
  void continueHandshake();
  bool handshaking() const { return tls_ && !tls_->established(); }
  // recv() and send() on the socket, or through TLS.
  ssize_t receiveSome(void *buffer, size_t capacity);
  ssize_t sendSome(const void *data, size_t length);
  void onHookFailed() override { finished_ = true; }
  // The socket failed with `error` (0: none known): the session ends, by the
  // client, or by send_timeout if the kernel gave up on unread output.
  void endByPeer(int error);
  void finishIfDone();
  void countSent(size_t bytes);
  // session_export, into `state`; false if it failed (or threw: logged).
  bool exportState(std::vector<uint8_t> &state);
  // After a refused import: nothing of what the new code began stays (its timers,
  // wakers, pause or close).
  void undoImport();
  bool hasWritableHook() const;
  bool wantsInput() const;

  net::FileDescriptor connection_;
  Agenda agenda_;
  bool paused_ = false;
  const size_t outputHighWater_;
  OutputQueue output_{OutputBudget::process()};
  void *state_ = nullptr;
  bool opened_ = false;
  bool peerClosed_ = false;
  // A hook wrote since on_session_writable last ran: it runs once all of that has gone, even
  // if it went straight out (then on the next loop turn, so a plugin that writes from
  // on_session_writable takes turns with the loop's other sessions).
  bool writableOwed_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point lastTraffic_;
  std::chrono::steady_clock::time_point lastSent_;
  net::SendProgress sendProgress_;
  std::unique_ptr<tls::TlsStream> tls_;  // tls = on
  // Sent to another worker (handOut), the connection may be served there
  // already: a cut meanwhile (any thread) shuts it down only if it comes
  // back (thaw).
  enum class Away { No, Yes, Cut };
  std::atomic<Away> away_{Away::No};
  std::chrono::steady_clock::time_point handshakeDeadline_;
};

}  // namespace wharf::session
