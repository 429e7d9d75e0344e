// Internal. The host side of one session (a stream connection or a datagram
// exchange): what the host API's session_* functions act on. The C handle
// `wharf_session *` handed to the plugin is a HandleTable handle: kept past
// the session's end it finds nothing, never another session.
#pragma once

#include <wharf/wharf.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/SocketAddress.h"
#include "plugin/HandleTable.h"
#include "plugin/HookCall.h"
#include "plugin/PluginInstance.h"
#include "session/Cuttable.h"
#include "session/Ledger.h"
#include "tls/Handshakes.h"
#include "tls/TlsStream.h"

namespace wharf::session {

class Agenda;

// How the plugin serves this session: which hooks the host calls.
enum class Style { Event, Blocking };

class Session : public Cuttable {
 public:
  // Throws std::bad_alloc if no handle can be had.
  Session(plugin::PluginInstance &instance, const net::SocketAddress &peer, const Ledger &ledger);
  // Writes the session down in its ledger: counters, and the access log line.
  ~Session() override;
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  // The session `handle` names; nullptr once that session has ended.
  static Session *find(const wharf_session *handle) noexcept;
  wharf_session *handle() const { return reinterpret_cast<wharf_session *>(handle_.value()); }

  // THREAD (all): the thread running this session's hooks.
  virtual wharf_status write(const void *data, size_t len) = 0;
  virtual wharf_status read(void *buffer, size_t capacity, size_t *received) = 0;
  virtual size_t pendingOutput() const { return 0; }
  // The socket a blocking-style stream session may use directly; -1 otherwise.
  virtual int socket() const { return -1; }
  // tls = on: the session's TLS, once its handshake is done; else null.
  virtual const tls::TlsStream *tls() const { return nullptr; }
  // Bytes the plugin moved itself (session_count_bytes): on a connection of
  // its own, or on the session's socket past the host.
  // Saturating: the plugin's numbers are input, and a counter never wraps.
  void countPluginBytes(bool ownConnection, ByteCount bytes) {
    if (ownConnection) {
      ownConnectionBytes_.in = saturatingAdd(ownConnectionBytes_.in, bytes.in);
      ownConnectionBytes_.out = saturatingAdd(ownConnectionBytes_.out, bytes.out);
    }
    tally_.bytesIn = saturatingAdd(tally_.bytesIn, bytes.in);
    tally_.bytesOut = saturatingAdd(tally_.bytesOut, bytes.out);
    countEachSecond();
  }
  // The socket that carries the session, for its addresses: a stream
  // session's connection, a datagram exchange's listener (shared).
  virtual int carrier() const = 0;
  // Event-style stream sessions (SDK 1.2): what they have scheduled, and
  // whether they read. nullptr and WHARF_UNSUPPORTED for the others.
  virtual Agenda *agenda() { return nullptr; }
  virtual wharf_status pauseInput(bool) { return WHARF_UNSUPPORTED; }
  // Whether the session's thread may block in a host call (not a reactor's).
  virtual bool mayBlock() const { return true; }
  // False (nothing changes) while the session is frozen.
  bool requestClose() {
    if (frozen()) return false;
    closeRequested_ = true;
    return true;
  }
  // A refused session_import asked to close the session: it goes on.
  void withdrawClose() { closeRequested_ = false; }
  // Where this session's hooks run: a loop that other sessions share, or not.
  plugin::HookSite hookSite() const {
    return mayBlock() ? plugin::HookSite::OwnThread : plugin::HookSite::SharedLoop;
  }
  // Any thread: ends the session from outside (a deadline passed). A blocked
  // read or write returns; the plugin sees the peer gone.
  void cut(CutReason) override {}
  bool closeRequested() const { return closeRequested_; }
  // Why the session ends (session_end_reason); WHARF_END_NONE while it goes on.
  wharf_end_reason endReason() const;
  // The host ended it: a cut, or idle_timeout.
  bool endedByHost() const;

  plugin::PluginInstance &instance() const { return *instance_; }
  // Live migration: the session is served by `next`, of plugin generation
  // `generation`, from now on (its handle, peer, counts and admission stay).
  void moveTo(plugin::PluginInstance &next, uint64_t generation) {
    instance_ = &next;
    ledger_.generation = generation;
  }
  // The plugin generation serving the session.
  uint64_t generation() const { return ledger_.generation; }
  // Live migration: which of the plugin's handover hooks runs. While the old
  // code exports the state, or frees it (its on_session_close, where
  // session_end_reason says WHARF_END_MIGRATED), the session is frozen: no
  // write, timer, waker, pause or close. session_import may do all of that
  // (undone if it refuses the session).
  enum class Handover { None, Exporting, Importing, Leaving };
  void setHandover(Handover phase) { handover_ = phase; }
  bool frozen() const { return handover_ == Handover::Exporting || handover_ == Handover::Leaving; }
  bool handingOver() const { return handover_ != Handover::None; }
  bool importing() const { return handover_ == Handover::Importing; }
  // Live migration across workers: the session's bytes and start as the
  // worker that served it before had them (its ledger has what it counted).
  ByteCount bytesSoFar() const { return {tally_.bytesIn, tally_.bytesOut}; }
  std::chrono::steady_clock::time_point started() const { return started_; }
  void carryOver(ByteCount bytes, std::chrono::steady_clock::time_point started) {
    tally_.bytesIn = counted_.in = bytes.in;
    tally_.bytesOut = counted_.out = bytes.out;
    started_ = started;
  }
  // The session goes on in another worker (or stays in the one that offered
  // it): it ends here without being written down as ended; only its bytes
  // not counted yet are.
  void handOff() { handedOff_.store(true, std::memory_order_release); }
  // THREAD: any (a cut asks). Once handed off the connection is another
  // worker's too: the host never shuts it down here.
  bool handedOff() const { return handedOff_.load(std::memory_order_acquire); }
  // The peer as text, formatted on first use (most sessions never need it).
  const std::string &peer() const;
  const net::SocketAddress &peerAddress() const { return peerAddress_; }
  // One of the session's addresses (session_address); nullopt if it has none such.
  std::optional<net::SocketAddress> address(wharf_address which) const;
  // Logs through the listener's logger, naming the peer.
  void log(int priority, std::string_view message) const;
  // The host closes the session for its peer (`ending`: idle_timeout,
  // send_timeout, output_budget): noted, and logged at most 10 times a second
  // per listener, so thousands of silent peers cannot flood the log.
  // `why` replaces the ending's usual reason in the log line.
  void endSlowPeer(Ending ending, const char *why = nullptr);
  // tls = on: the handshake ended, counted in the listener's metrics; a
  // failure ends the session as tls_handshake, logged as endSlowPeer logs.
  void noteTlsHandshake(tls::Version version, bool resumed) {
    ledger_.traffic.addTlsHandshake(version, resumed);
  }
  void noteTlsFailure(tls::Failure failure, const std::string &why) {
    ledger_.traffic.addTlsFailure(failure);
    endSlowPeer(Ending::TlsHandshake, why.c_str());
  }
  // True for WHARF_OK; otherwise logs that `hook` failed and the session closes.
  bool hookSucceeded(wharf_status status, const char *hook);
  // Runs the plugin's `hook` (`call` returns its status) and checks it as
  // hookSucceeded does. An exception out of it (a raw C++ hook) is caught,
  // logged with the peer, and ends the session as an error.
  template <typename Call>
  bool runHook(const char *hook, Call &&call) {
    std::string escaped;
    wharf_status status = plugin::callHook(*instance_, hook, hookSite(), call, escaped);
    if (!escaped.empty()) return hookThrew(hook, escaped);
    return hookSucceeded(status, hook);
  }
  // Live migration: session_import of the instance now serving the session,
  // from the state plugin version `fromVersion` carried; false if it refused
  // (or threw: logged).
  bool importState(const std::string &fromVersion, std::span<const uint8_t> state, void *&imported);
  // Live migration of a blocking-style session (SDK 1.6): its bell's
  // descriptor (-1: it cannot move), and the plugin's hand-over.
  virtual int handoverFd() { return -1; }
  virtual wharf_status handOver(std::span<const uint8_t> /*state*/) { return WHARF_UNSUPPORTED; }
  // The same for a hook whose status nothing checks (on_session_close, a
  // post's `dropped`): what it throws is logged, and goes no further.
  template <typename Call>
  void runFinalHook(const char *hook, Call &&call) noexcept {
    std::string escaped;
    plugin::callHook(*instance_, hook, hookSite(), call, escaped);
    if (!escaped.empty()) hookThrew(hook, escaped);
  }

 protected:
  // THREAD: the session's. Bytes that went through the host for this session.
  // A long session adds them to its listener's counters each second.
  void countIn(size_t bytes) {
    tally_.bytesIn += bytes;
    countEachSecond();
  }
  void countOut(size_t bytes) {
    tally_.bytesOut += bytes;
    countEachSecond();
  }
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
  // For a plugin that used the socket itself: the totals the kernel kept of
  // it, which hold the bytes through the host and those the plugin reported
  // on it (if it reported less, the kernel's), plus its own connections'.
  void setSocketBytes(uint64_t in, uint64_t out) {
    tally_.bytesIn = std::max(in, tally_.bytesIn - ownConnectionBytes_.in) + ownConnectionBytes_.in;
    tally_.bytesOut =
        std::max(out, tally_.bytesOut - ownConnectionBytes_.out) + ownConnectionBytes_.out;
  }

  // A hook failed or threw: the session ends (the driver sees it).
  virtual void onHookFailed() {}

 private:
  bool hookThrew(const char *hook, const std::string &escaped) noexcept;
  void noteError(std::string message);
  // The ending as it stands: an error outranks a cut, which outranks the
  // first ending noted (Plugin if none was).
  Ending ending() const;
  plugin::PluginInstance *instance_;  // never null; changes only by moveTo()
  net::SocketAddress peerAddress_;
  mutable std::string peerText_;
  mutable bool peerFormatted_ = false;
  plugin::HandleTable<Session>::Entry handle_;
  bool closeRequested_ = false;
  Handover handover_ = Handover::None;
  static uint64_t saturatingAdd(uint64_t a, uint64_t b) {
    uint64_t sum;
    return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
  }
  void countEachSecond() {
    if (coarseNow() >= nextCount_) addCountedBytes();
  }
  void addCountedBytes() noexcept;
  // The coarse clock (a few ns to read, ~4 ms resolution): it runs per read
  // and write.
  static std::chrono::nanoseconds coarseNow() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
  }

  Ledger ledger_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  SessionTally tally_;
  ByteCount counted_;             // of tally_'s bytes, those added to the listener's counters
  ByteCount ownConnectionBytes_;  // of tally_'s, those of the plugin's own connections
  std::chrono::nanoseconds nextCount_ = coarseNow() + std::chrono::seconds(1);
  bool endingNoted_ = false;
  std::atomic<bool> handedOff_{false};
  std::atomic<bool> cut_{false};
  std::atomic<CutReason> cutWhy_{CutReason::Shutdown};
  std::string error_;
};

}  // namespace wharf::session
