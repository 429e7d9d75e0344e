#include "session/LiveSessions.h"

namespace wharf::session {

LiveSessions::Entry::Entry(LiveSessions &registry, Cuttable &session)
    : registry_(registry), session_(session) {
  std::lock_guard lock(registry_.mutex_);
  registry_.sessions_.insert(&session_);
  if (registry_.cutting_) session_.cut();
}

LiveSessions::Entry::~Entry() {
  std::lock_guard lock(registry_.mutex_);
  registry_.sessions_.erase(&session_);
}

size_t LiveSessions::cutAll() {
  std::lock_guard lock(mutex_);
  cutting_ = true;
  for (Cuttable *session : sessions_) session->cut();
  return sessions_.size();
}

}  // namespace wharf::session
