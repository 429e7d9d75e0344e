#include "dispatch/BlockingMigration.h"

#include <fcntl.h>

#include <system_error>

#include "dispatch/HandoverPackage.h"
#include "session/FailureLog.h"

namespace wharf::dispatch {

BlockingMigration::BlockingMigration(const std::string &listener,
                                     const listener::Generations &generations,
                                     session::Traffic &traffic, Poco::Logger &logger)
    : listener_(listener), generations_(generations), traffic_(traffic), logger_(logger) {}

BlockingMigration::~BlockingMigration() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

bool BlockingMigration::watchLocked() {
  if (watcher_.joinable()) return true;
  try {
    watcher_ = std::thread([this] { watch(); });
    return true;
  } catch (const std::system_error &error) {  // no thread: the sessions drain, as without
    session::logFailure(logger_, "migrate: no thread to time the round: ", error.what());
    return false;
  }
}

void BlockingMigration::migrate(std::optional<std::chrono::milliseconds> timeout) {
  std::lock_guard lock(mutex_);
  if (away_ || retired_) return;  // the sessions go to the other worker's code
  if (round_) finishLocked(true);
  if (!timeout || !watchLocked()) return;
  deadline_ = std::chrono::steady_clock::now() + *timeout;
  round_.emplace(generations_.current(), deadline_, "longest hand-over");
  for (const auto &[session, enrolled] : sessions_)
    if (asksLocked(enrolled)) session->bell().ring();
  finishIfDoneLocked();
  changed_.notify_all();
}

bool BlockingMigration::handOver(std::shared_ptr<HandoverLink> link, pid_t to,
                                 std::chrono::milliseconds timeout) {
  std::lock_guard lock(mutex_);
  if (away_ || retired_ || !watchLocked()) return false;
  if (round_) finishLocked(true);
  deadline_ = std::chrono::steady_clock::now() + timeout;
  away_.emplace(Away{HandoverRound(std::move(link), to, deadline_), {}});
  for (const auto &[session, enrolled] : sessions_)
    if (asksLocked(enrolled)) session->bell().ring();
  finishIfDoneLocked();
  changed_.notify_all();
  return true;
}

void BlockingMigration::answered(Poco::JSON::Object::Ptr answer) {
  std::lock_guard lock(mutex_);
  if (!away_) return;
  if (!answer) {  // what it took stays here, as do those not sent yet
    for (auto &[id, awaited] : away_->answers)
      if (awaited.answer.isNull()) {
        awaited.answer = refusedAnswer(listener_, id, "the new worker has gone");
        awaited.came.notify_one();
      }
    away_->round.linkGone();
    finishIfDoneLocked();
    return;
  }
  auto sent = away_->answers.find(answer->optValue<uint64_t>("id", 0));
  if (sent == away_->answers.end() || !sent->second.answer.isNull()) return;
  sent->second.answer = answer;
  sent->second.came.notify_one();
}

void BlockingMigration::enroll(session::StreamSession &session, uint64_t generation) {
  std::lock_guard lock(mutex_);
  Enrolled enrolled{generation};
  sessions_.emplace(&session, enrolled);
  // Admitted before a reload or a retirement, started after it.
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
  if (away_ || enrolled == sessions_.end() || !asksLocked(enrolled->second) ||
      round_->overdue(std::chrono::steady_clock::now()))
    return std::nullopt;
  const listener::GenerationPtr &target = round_->target();
  return Destination{&target->instance(), target->number(), &target->live(), target};
}

void BlockingMigration::moved(session::StreamSession &session, uint64_t generation,
                              std::chrono::nanoseconds pause) {
  std::lock_guard lock(mutex_);
  sessions_[&session] = {generation};
  if (!round_ || round_->target()->number() != generation) return;
  round_->noteTurn(pause);
  finishIfDoneLocked();
}

void BlockingMigration::decided(session::StreamSession &session, uint64_t target,
                                session::Migration outcome) {
  std::lock_guard lock(mutex_);
  Enrolled &enrolled = sessions_[&session];
  enrolled.decidedBy = target;
  enrolled.taken = outcome == session::Migration::Moved;
  if (!round_ || round_->target()->number() != target) return;  // an older round's answer
  if (outcome == session::Migration::NotCarried)
    round_->notCarried(round_->target()->describe() + " has no session_import or resume");
  else
    round_->count(outcome);
  finishIfDoneLocked();
}

std::optional<bool> BlockingMigration::sendAway(session::StreamSession &session,
                                                std::span<const uint8_t> state) {
  std::unique_lock lock(mutex_);
  if (!away_) return retired_ ? std::optional(false) : std::nullopt;
  auto since = std::chrono::steady_clock::now();
  auto enrolled = sessions_.find(&session);
  if (enrolled == sessions_.end() || enrolled->second.goneAway || !away_->round.link() ||
      away_->round.overdue(since))
    return false;
  Enrolled &asked = enrolled->second;
  asked.goneAway = true;  // asked once: whatever comes of it, it is not asked again
  auto stay = [&](const std::string &why) {
    away_->round.refused(why);
    finishIfDoneLocked();
    return false;
  };
  if (session.tls() != nullptr) {  // OpenSSL cannot export a connection
    away_->round.stays();
    finishIfDoneLocked();
    return false;
  }
  if (state.size() > kMaxStateToSend) return stay("its state is over 256 KiB, too big to send");
  net::FileDescriptor copy(::fcntl(session.carrier(), F_DUPFD_CLOEXEC, 0));
  if (!copy.valid()) return stay("no descriptor to send it with");
  uint64_t id = away_->round.nextId();
  // Awaited before it goes, so no answer can miss it; sent unlocked, so
  // sessions handing over at once do not queue behind one another's
  // serializing and copying. The round ends only once every answer is in:
  // away_, and this entry, outlive the wait.
  Awaited &awaited = away_->answers[id];
  std::shared_ptr<HandoverLink> link = away_->round.link();
  lock.unlock();
  std::optional<std::string> failed;
  try {
    link->send(packSession(listener_, id, session, "blocking", state, since), std::move(copy));
  } catch (const std::exception &error) {  // out of memory
    failed = error.what();
  }
  lock.lock();
  if (failed && awaited.answer.isNull()) {
    away_->answers.erase(id);
    return stay("it could not be sent: " + *failed);
  }
  awaited.came.wait(lock, [&] { return !awaited.answer.isNull(); });
  Poco::JSON::Object::Ptr answer = awaited.answer;
  away_->answers.erase(id);
  if (answer->optValue<std::string>("outcome", "") != "moved")
    return stay(answer->optValue<std::string>("why", "by the new worker"));
  away_->round.moved(pauseReported(*answer, std::chrono::steady_clock::now() - since));
  finishIfDoneLocked();
  return true;
}

void BlockingMigration::finishIfDoneLocked() {
  bool overdue = std::chrono::steady_clock::now() >= deadline_;
  if (away_) {
    if (!away_->answers.empty()) return;  // their sessions wait on them
    if (away_->round.link() && !overdue)
      for (const auto &[session, enrolled] : sessions_)
        if (asksLocked(enrolled)) return;
    return finishLocked(false);
  }
  if (!round_) return;
  if (!overdue)  // nor one taken and on its way: its pause is the round's to log
    for (const auto &[session, enrolled] : sessions_)
      if (asksLocked(enrolled) || enrolled.taken) return;
  finishLocked(false);
}

void BlockingMigration::finishLocked(bool superseded) {
  size_t left = 0;
  for (auto &[session, enrolled] : sessions_)
    if (asksLocked(enrolled)) {
      session->bell().silence();
      if (away_ && !away_->round.link()) {  // not sent when it went: stays for the same reason
        away_->round.refused("the new worker has gone");
        enrolled.goneAway = true;
      } else {
        ++left;
      }
    }
  if (away_) {
    logger_.notice(away_->round.finish(left, traffic_));
    away_.reset();
    retired_ = true;
  } else {
    logger_.notice(round_->finish(left, superseded, traffic_));
    round_.reset();
  }
  changed_.notify_all();
}

void BlockingMigration::watch() noexcept {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    bool open = round_ || away_;
    if (!open || std::chrono::steady_clock::now() >= deadline_)
      changed_.wait(lock);  // past the deadline: it ends with its last answer
    else
      changed_.wait_until(lock, deadline_);
    if ((round_ || away_) && std::chrono::steady_clock::now() >= deadline_) finishIfDoneLocked();
  }
}

}  // namespace wharf::dispatch
