#include "session/OutputQueue.h"

namespace wharf::session {
namespace {

// A buffer up to this size is kept for the next burst; a larger one is freed.
constexpr size_t kKeptCapacity = 64u << 10;

}  // namespace

void OutputQueue::append(const char *data, size_t length) {
  bytes_.append(data, length);
  recount();
}

void OutputQueue::consume(size_t length) {
  sent_ += length;
  if (sent_ < bytes_.size()) {
    // What went stays in the buffer until it is dropped: a peer that reads as
    // fast as it sends, a little behind, would otherwise grow it for good.
    if (sent_ >= kKeptCapacity && sent_ >= bytes_.size() / 2) {
      bytes_.erase(0, sent_);
      sent_ = 0;
    }
    return;
  }
  bytes_.clear();
  sent_ = 0;
  if (bytes_.capacity() > kKeptCapacity)
    release();
  else
    recount();  // an empty buffer kept for the next burst is not counted
}

void OutputQueue::discard() {
  bytes_.clear();
  sent_ = 0;
  release();
}

void OutputQueue::release() {
  budget_.noteFreed(bytes_.capacity());
  std::string().swap(bytes_);
  recount();
}

void OutputQueue::recount() {
  // Counted while output waits: a budget cut can win it back then. An empty
  // buffer is at most kKeptCapacity, and the bytes inside the string object
  // itself are the session's, not the heap's.
  size_t held = bytes_.empty() ? 0 : bytes_.capacity();
  if (held > counted_)
    budget_.take(held - counted_);
  else
    budget_.giveBack(counted_ - held);
  counted_ = held;
}

}  // namespace wharf::session
