#include "EventChannel.h"

#include <utility>

namespace xfer {

bool EventChannel::sendFile(common::Fd file, uint64_t size) {
  file_.emplace(std::move(file), 0, size);
  return sendMore();
}

bool EventChannel::sendMore() {
  // One chunk a turn: the host calls on_session_writable when it has gone, and the loop's
  // other sessions go in between.
  wharf::Session session(session_);
  if (file_->writeNext(session)) return false;
  file_.reset();
  return true;
}

}  // namespace xfer
