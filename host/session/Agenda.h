// Internal. What an event-style stream session has scheduled (SDK 1.2):
// timers the plugin started (session_timer_start) and calls other threads
// posted through a waker (waker_post). A driver waits on two descriptors of
// its own, a timerfd armed for the next timer and the mailbox's eventfd,
// made on first use: a session that schedules nothing costs nothing.
// THREAD: the session's, except what the Mailbox says.
#pragma once

#include <wharf/wharf.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "net/FileDescriptor.h"
#include "plugin/TimerTable.h"

namespace wharf::session {

// Calls posted to one session from any thread. Shared by the session and its
// wakers: it outlives whichever goes last.
class Mailbox {
 public:
  static constexpr size_t kMaxQueued = 10000;  // posts waiting at once, per session

  Mailbox();
  // THREAD: any. WHARF_CLOSED once the session has gone (`user` stays the
  // caller's); WHARF_ERROR with kMaxQueued waiting.
  wharf_status post(wharf_session_callback callback, wharf_dropped_callback dropped, void *user);
  int fd() const { return signal_.fd(); }
  bool empty();

 private:
  friend class Agenda;
  struct Post {
    wharf_session_callback callback;
    wharf_dropped_callback dropped;
    void *user;
    void drop() const noexcept;  // `dropped(user)`; what it throws goes no further
  };
  std::deque<Post> take();
  void close();  // later posts are refused; queued ones are dropped

  std::mutex mutex_;
  std::deque<Post> queued_;
  bool closed_ = false;
  net::FileDescriptor signal_;  // an eventfd: readable while posts wait
};

class Agenda {
 public:
  Agenda() = default;
  ~Agenda();  // close()
  Agenda(const Agenda &) = delete;
  Agenda &operator=(const Agenda &) = delete;

  wharf_status startTimer(uint64_t delayMs, uint64_t repeatMs, wharf_session_callback callback,
                          wharf_dropped_callback release, void *user, uint64_t *id);
  wharf_status cancelTimer(uint64_t id);
  std::shared_ptr<Mailbox> mailbox();  // made on first call

  // The descriptors to wait on for readability; -1 until first used.
  int timerFd() const { return timerFd_.fd(); }
  int mailFd() const { return mailbox_ ? mailbox_->fd() : -1; }
  bool inUse() const { return timerFd_.valid() || mailbox_ != nullptr; }
  // Live migration: nothing is scheduled, and nothing can be but by the
  // session's own hooks: no timer, no post queued, no waker the plugin holds.
  bool idle();
  // Of an idle agenda: lets the mailbox go (its descriptor closes; unwatch it
  // first). A waker made later gets a new one.
  void forgetMailbox() { mailbox_.reset(); }
  // Of an agenda that was idle: drops what was scheduled since (timers are
  // released, queued posts dropped, wakers made since find a closed
  // mailbox), so it is idle again. For a refused session_import.
  void clear();

  // Runs the expired timers, then the posted calls; stops at the first that
  // fails and returns its status.
  wharf_status runDue(void *instanceState, void *sessionState, wharf_session *session);
  // The session ends: no timer fires again, posts are refused, and queued
  // ones are dropped (their `dropped` runs here).
  void close();

 private:
  void arm();

  plugin::TimerTable<wharf_session_callback> timers_;
  net::FileDescriptor timerFd_;
  std::shared_ptr<Mailbox> mailbox_;
  bool closed_ = false;
};

}  // namespace wharf::session
