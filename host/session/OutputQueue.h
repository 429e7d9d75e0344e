// Internal. A reactor session's bytes waiting for its peer to read them.
// While any wait, its buffer's memory (not only what waits in it: a growing
// buffer may be twice that) is counted in the process's OutputBudget. What
// was sent is dropped from the front once it is half the buffer, so the
// buffer holds at most about twice what waits; once the peer has taken all, a
// large buffer is freed.
// THREAD: its session's loop.
#pragma once

#include <cstddef>
#include <string>

#include "session/OutputBudget.h"

namespace wharf::session {

class OutputQueue {
 public:
  explicit OutputQueue(OutputBudget &budget) : budget_(budget) {}
  ~OutputQueue() { discard(); }
  OutputQueue(const OutputQueue &) = delete;
  OutputQueue &operator=(const OutputQueue &) = delete;

  size_t size() const { return bytes_.size() - sent_; }
  size_t capacity() const { return bytes_.capacity(); }  // the memory it holds
  const char *data() const { return bytes_.data() + sent_; }
  void append(const char *data, size_t length);
  // The peer's socket took `length` bytes from the front.
  void consume(size_t length);
  // Drops what waits (the session is cut) and frees the buffer.
  void discard();

 private:
  void release();
  void recount();  // the budget counts the buffer's memory as it is now

  OutputBudget &budget_;
  std::string bytes_;
  size_t sent_ = 0;
  size_t counted_ = 0;  // in the budget
};

}  // namespace wharf::session
