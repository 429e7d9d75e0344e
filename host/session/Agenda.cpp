#include "session/Agenda.h"

#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace wharf::session {

Mailbox::Mailbox() : signal_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!signal_.valid()) throw std::system_error(errno, std::generic_category(), "eventfd");
}

wharf_status Mailbox::post(wharf_session_callback callback, wharf_dropped_callback dropped,
                           void *user) {
  if (callback == nullptr) return WHARF_INVALID;
  std::lock_guard lock(mutex_);
  if (closed_) return WHARF_CLOSED;
  if (queued_.size() >= kMaxQueued) return WHARF_ERROR;
  queued_.push_back({callback, dropped, user});
  // Fails only when the count is full, and then it is readable anyway.
  uint64_t one = 1;
  (void)!::write(signal_.fd(), &one, sizeof one);
  return WHARF_OK;
}

std::deque<Mailbox::Post> Mailbox::take() {
  uint64_t count;
  (void)!::read(signal_.fd(), &count, sizeof count);
  std::lock_guard lock(mutex_);
  return std::exchange(queued_, {});
}

bool Mailbox::empty() {
  std::lock_guard lock(mutex_);
  return queued_.empty();
}

void Mailbox::Post::drop() const noexcept {
  try {
    if (dropped != nullptr) dropped(user);
  } catch (...) {  // a raw C++ callback threw: the session is ending all the same
  }
}

void Mailbox::close() {
  std::deque<Post> dropped;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    dropped.swap(queued_);
  }
  for (const Post &post : dropped) post.drop();
}

Agenda::~Agenda() {
  close();
}

wharf_status Agenda::startTimer(uint64_t delayMs, uint64_t repeatMs,
                                wharf_session_callback callback, wharf_dropped_callback release,
                                void *user, uint64_t *id) {
  uint64_t number = 0;
  wharf_status status = timers_.start(delayMs, repeatMs, callback, release, user, &number);
  if (status != WHARF_OK) return status;
  if (!timerFd_.valid()) {
    timerFd_ = net::FileDescriptor(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!timerFd_.valid()) {
      std::optional<plugin::TimerRelease> unused;  // refused: nothing runs, release included
      timers_.cancel(number, unused);
      return WHARF_ERROR;
    }
  }
  arm();
  if (id != nullptr) *id = number;
  return WHARF_OK;
}

wharf_status Agenda::cancelTimer(uint64_t id) {
  std::optional<plugin::TimerRelease> released;
  wharf_status status = timers_.cancel(id, released);
  arm();
  if (released) (*released)();
  return status;
}

std::shared_ptr<Mailbox> Agenda::mailbox() {
  if (closed_) return nullptr;
  if (!mailbox_) mailbox_ = std::make_shared<Mailbox>();
  return mailbox_;
}

bool Agenda::idle() {
  // The agenda's own reference and no other: no waker is left (a post in
  // progress holds one too).
  return timers_.empty() && (!mailbox_ || (mailbox_.use_count() == 1 && mailbox_->empty()));
}

void Agenda::arm() {
  if (!timerFd_.valid()) return;
  itimerspec when{};  // all zero: disarmed
  if (auto next = timers_.nextDue()) {
    using plugin::TimerClock;
    auto left = std::max(*next - TimerClock::now(), TimerClock::duration(1));  // 0 would disarm
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
    when.it_value.tv_sec = seconds.count();
    when.it_value.tv_nsec = std::chrono::nanoseconds(left - seconds).count();
  }
  ::timerfd_settime(timerFd_.fd(), 0, &when, nullptr);
}

wharf_status Agenda::runDue(void *instanceState, void *sessionState, wharf_session *session) {
  if (timerFd_.valid()) {
    uint64_t expirations;
    (void)!::read(timerFd_.fd(), &expirations, sizeof expirations);
    auto now = plugin::TimerClock::now();
    // Callbacks may start and cancel timers: pick each due one afresh.
    while (auto due = timers_.takeDue(now)) {
      struct Finish {  // even if the callback throws: its release is not lost
        plugin::TimerTable<wharf_session_callback> &timers;
        ~Finish() {
          if (auto released = timers.finish()) (*released)();
        }
      } finish{timers_};
      wharf_status status = due->callback(instanceState, sessionState, session, due->user);
      if (status != WHARF_OK) return status;
    }
    arm();
  }
  if (!mailbox_) return WHARF_OK;
  std::deque<Mailbox::Post> posts = mailbox_->take();
  struct DropRest {  // the session is ending (or a callback threw): the rest never run
    std::deque<Mailbox::Post> &posts;
    ~DropRest() {
      for (const Mailbox::Post &post : posts) post.drop();
    }
  } dropRest{posts};
  while (!posts.empty()) {
    Mailbox::Post post = posts.front();
    posts.pop_front();
    wharf_status status = post.callback(instanceState, sessionState, session, post.user);
    if (status != WHARF_OK) return status;
  }
  return WHARF_OK;
}

void Agenda::close() {
  closed_ = true;
  std::vector<plugin::TimerRelease> ending = timers_.close();
  arm();
  for (const plugin::TimerRelease &released : ending) released();
  if (mailbox_) mailbox_->close();
}

void Agenda::clear() {
  std::vector<plugin::TimerRelease> cancelled = timers_.cancelAll();
  arm();
  for (const plugin::TimerRelease &released : cancelled) released();
  if (mailbox_) mailbox_->close();
  mailbox_.reset();
}

}  // namespace wharf::session
