#include "dispatch/BlockingMigration.h"

#include <system_error>

#include "session/FailureLog.h"

namespace wharf::dispatch {

BlockingMigration::BlockingMigration(const listener::Generations &generations,
                                     session::Traffic &traffic, Poco::Logger &logger)
    : generations_(generations), traffic_(traffic), logger_(logger) {}

BlockingMigration::~BlockingMigration() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void BlockingMigration::migrate(std::optional<std::chrono::milliseconds> timeout) {
  std::lock_guard lock(mutex_);
  if (round_) finishLocked(true);
  if (!timeout) return;
  if (!watcher_.joinable()) {
    try {
      watcher_ = std::thread([this] { watch(); });
    } catch (const std::system_error &error) {  // no thread: the sessions drain, as without
      session::logFailure(logger_, "migrate: no thread to time the round: ", error.what());
      return;
    }
  }
  deadline_ = std::chrono::steady_clock::now() + *timeout;
  round_.emplace(generations_.current(), deadline_, "longest hand-over");
  for (const auto &[session, enrolled] : sessions_)
    if (asksLocked(enrolled)) session->bell().ring();
  finishIfDoneLocked();
  changed_.notify_all();
}

void BlockingMigration::enroll(session::StreamSession &session, uint64_t generation) {
  std::lock_guard lock(mutex_);
  Enrolled enrolled{generation};
  sessions_.emplace(&session, enrolled);
  // Admitted under the generation before a reload, started after it.
  if (asksLocked(enrolled)) session.bell().ring();
}

void BlockingMigration::withdraw(session::StreamSession &session) {
  std::lock_guard lock(mutex_);
  sessions_.erase(&session);
  finishIfDoneLocked();
}

std::optional<session::SessionCarrier::Destination> BlockingMigration::destination(
    session::StreamSession &session) {
  std::lock_guard lock(mutex_);
  auto enrolled = sessions_.find(&session);
  if (enrolled == sessions_.end() || !asksLocked(enrolled->second) ||
      round_->overdue(std::chrono::steady_clock::now()))
    return std::nullopt;
  const listener::GenerationPtr &target = round_->target();
  return Destination{&target->instance(), target->number(), &target->live(), target};
}

void BlockingMigration::moved(session::StreamSession &session, uint64_t generation,
                              std::chrono::nanoseconds pause) {
  std::lock_guard lock(mutex_);
  sessions_[&session] = {generation};
  if (!round_ || round_->target()->number() != generation) return;  // superseded meanwhile
  round_->count(session::Migration::Moved);
  round_->noteTurn(pause);
  finishIfDoneLocked();
}

void BlockingMigration::refused(session::StreamSession &session, session::Migration outcome) {
  std::lock_guard lock(mutex_);
  if (!round_) return;
  sessions_[&session].refusedBy = round_->target()->number();
  if (outcome == session::Migration::NotCarried)
    round_->notCarried(round_->target()->describe() + " has no session_import or resume");
  else
    round_->count(outcome);
  finishIfDoneLocked();
}

void BlockingMigration::finishIfDoneLocked() {
  if (!round_) return;
  for (const auto &[session, enrolled] : sessions_)
    if (asksLocked(enrolled)) return;
  finishLocked(false);
}

void BlockingMigration::finishLocked(bool superseded) {
  size_t left = 0;
  for (const auto &[session, enrolled] : sessions_)
    if (asksLocked(enrolled)) {
      ++left;
      session->bell().silence();
    }
  logger_.notice(round_->finish(left, superseded, traffic_));
  round_.reset();
}

void BlockingMigration::watch() noexcept {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!round_) {
      changed_.wait(lock);
    } else if (changed_.wait_until(lock, deadline_) == std::cv_status::timeout && round_ &&
               round_->overdue(std::chrono::steady_clock::now())) {
      finishLocked(false);
    }
  }
}

}  // namespace wharf::dispatch
