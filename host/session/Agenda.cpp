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

void Mailbox::close() {
  std::deque<Post> dropped;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    dropped.swap(queued_);
  }
  for (const Post &post : dropped)
    if (post.dropped != nullptr) post.dropped(post.user);
}

Agenda::~Agenda() {
  close();
}

wharf_status Agenda::startTimer(uint64_t delayMs, uint64_t repeatMs,
                                wharf_session_callback callback, wharf_dropped_callback release,
                                void *user, uint64_t *id) {
  if (callback == nullptr) return WHARF_INVALID;
  if (closed_) return WHARF_CLOSED;
  // A day at the most: a longer delay is a unit mistake, not a plan.
  constexpr uint64_t kMaxDelayMs = 24ull * 3600 * 1000;
  if (delayMs > kMaxDelayMs || repeatMs > kMaxDelayMs) return WHARF_INVALID;
  if (timers_.size() >= kMaxTimers) return WHARF_ERROR;
  if (!timerFd_.valid()) {
    timerFd_ = net::FileDescriptor(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!timerFd_.valid()) return WHARF_ERROR;
  }
  uint64_t number = nextId_++;
  timers_[number] = {Clock::now() + std::chrono::milliseconds(delayMs),
                     std::chrono::milliseconds(repeatMs), callback, release, user};
  if (id != nullptr) *id = number;
  arm();
  return WHARF_OK;
}

wharf_status Agenda::cancelTimer(uint64_t id) {
  auto found = timers_.find(id);
  if (found == timers_.end()) return WHARF_NOT_FOUND;
  Timer timer = found->second;
  timers_.erase(found);
  arm();
  if (id == running_)
    cancelledWhileRunning_ = true;  // its callback is on the stack: released when it returns
  else
    timer.released();
  return WHARF_OK;
}

std::shared_ptr<Mailbox> Agenda::mailbox() {
  if (closed_) return nullptr;
  if (!mailbox_) mailbox_ = std::make_shared<Mailbox>();
  return mailbox_;
}

void Agenda::arm() {
  if (!timerFd_.valid()) return;
  itimerspec when{};  // all zero: disarmed
  if (!timers_.empty()) {
    auto next = std::min_element(timers_.begin(), timers_.end(), [](const auto &a, const auto &b) {
                  return a.second.due < b.second.due;
                })->second.due;
    auto left = std::max(next - Clock::now(), Clock::duration(1));  // zero would disarm
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
    auto now = Clock::now();
    // Callbacks may start and cancel timers: pick each due one afresh.
    for (;;) {
      auto due = std::find_if(timers_.begin(), timers_.end(),
                              [&](const auto &entry) { return entry.second.due <= now; });
      if (due == timers_.end()) break;
      Timer timer = due->second;
      running_ = due->first;
      cancelledWhileRunning_ = false;
      if (timer.repeat.count() > 0)
        due->second.due = now + timer.repeat;
      else
        timers_.erase(due);
      wharf_status status = timer.callback(instanceState, sessionState, session, timer.user);
      running_ = 0;
      if (timer.repeat.count() == 0 || cancelledWhileRunning_) timer.released();
      if (status != WHARF_OK) return status;
    }
    arm();
  }
  if (!mailbox_) return WHARF_OK;
  std::deque<Mailbox::Post> posts = mailbox_->take();
  wharf_status status = WHARF_OK;
  for (const Mailbox::Post &post : posts) {
    if (status == WHARF_OK)
      status = post.callback(instanceState, sessionState, session, post.user);
    else if (post.dropped != nullptr)  // the session is ending: the rest never run
      post.dropped(post.user);
  }
  return status;
}

void Agenda::close() {
  closed_ = true;
  std::map<uint64_t, Timer> ending = std::exchange(timers_, {});
  arm();
  for (const auto &entry : ending) entry.second.released();
  if (mailbox_) mailbox_->close();
}

}  // namespace wharf::session
