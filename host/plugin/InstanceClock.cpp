#include "plugin/InstanceClock.h"

#include <unistd.h>

#include <optional>
#include <system_error>
#include <vector>

#include "plugin/HookCall.h"

namespace wharf::plugin {

InstanceClock::InstanceClock(Poco::Logger &logger, std::string owner, std::string listener,
                             ClockThread thread)
    : logger_(logger),
      owner_(std::move(owner)),
      listener_(std::move(listener)),
      process_(::getpid()),
      threadUse_(thread) {}

InstanceClock::~InstanceClock() {
  stop();
}

bool InstanceClock::inOwnProcess() const {
  return ::getpid() == process_;
}

void InstanceClock::ensureThread() {
  if (!open_ || thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void InstanceClock::open(void *instanceState) {
  std::lock_guard lock(mutex_);
  state_ = instanceState;
  open_ = true;
  if (!timers_.empty()) ensureThread();
}

wharf_status InstanceClock::start(uint64_t delayMs, uint64_t repeatMs,
                                  wharf_instance_callback callback, wharf_dropped_callback release,
                                  void *user, uint64_t *id) {
  if (threadUse_ == ClockThread::Refused || !inOwnProcess()) return WHARF_UNSUPPORTED;
  std::lock_guard lock(mutex_);
  if (stopping_) return WHARF_CLOSED;
  uint64_t number = 0;
  wharf_status status = timers_.start(delayMs, repeatMs, callback, release, user, &number);
  if (status != WHARF_OK) return status;
  try {
    ensureThread();
  } catch (const std::system_error &) {
    std::optional<TimerRelease> unused;  // refused: nothing runs, release included
    timers_.cancel(number, unused);
    return WHARF_ERROR;
  }
  changed_.notify_one();
  if (id != nullptr) *id = number;
  return WHARF_OK;
}

wharf_status InstanceClock::cancel(uint64_t id) {
  if (!inOwnProcess()) return WHARF_UNSUPPORTED;
  std::optional<TimerRelease> released;
  wharf_status status;
  {
    std::lock_guard lock(mutex_);
    status = timers_.cancel(id, released);
    changed_.notify_one();
  }
  if (released) (*released)();
  return status;
}

void InstanceClock::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::optional<TimerTable<wharf_instance_callback>::Due> due =
        timers_.takeDue(TimerClock::now());
    if (!due) {
      if (auto next = timers_.nextDue())
        changed_.wait_until(lock, *next);
      else
        changed_.wait(lock);
      continue;
    }
    lock.unlock();
    // A raw C++ callback may let an exception out: this thread must outlive it.
    std::string escaped;
    HookOnThread onThread(listener_, "an instance timer", false);
    wharf_status status = caught([&] { return due->callback(state_, due->user); }, escaped);
    if (status != WHARF_OK)
      logger_.error(owner_ + ": an instance timer's callback failed (" +
                    (escaped.empty() ? "status " + std::to_string(status) : escaped) +
                    "); the timer is cancelled");
    lock.lock();
    std::optional<TimerRelease> unused;  // finish() hands the release over
    if (status != WHARF_OK) timers_.cancel(due->id, unused);
    if (std::optional<TimerRelease> released = timers_.finish()) {
      lock.unlock();
      (*released)();
      lock.lock();
    }
  }
}

void InstanceClock::stop() {
  if (!inOwnProcess()) return;  // a fork-mode session process: the clock is not here
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  std::vector<TimerRelease> left;
  {
    std::lock_guard lock(mutex_);
    left = timers_.close();
  }
  for (const TimerRelease &released : left) released();
}

}  // namespace wharf::plugin
