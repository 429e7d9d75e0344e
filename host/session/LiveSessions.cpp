#include "session/LiveSessions.h"

namespace wharf::session {

LiveSessions::Entry::Entry(LiveSessions &registry, Cuttable &session)
    : registry_(registry), session_(session) {
  std::lock_guard lock(registry_.mutex_);
  registry_.sessions_.insert(&session_);
  if (registry_.cutting_) session_.cut(*registry_.cutting_);
}

LiveSessions::Entry::~Entry() {
  std::lock_guard lock(registry_.mutex_);
  registry_.sessions_.erase(&session_);
}

size_t LiveSessions::cutAll(CutReason why) {
  std::lock_guard lock(mutex_);
  cutting_ = why;
  for (Cuttable *session : sessions_) session->cut(why);
  return sessions_.size();
}

size_t LiveSessions::size() {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace wharf::session
