#include "EventChannel.h"

#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace xfer {
namespace {

constexpr size_t kChunk = 256 * 1024;

}  // namespace

bool EventChannel::sendFile(common::Fd file, uint64_t size) {
  file_ = std::move(file);
  offset_ = 0;
  remaining_ = size;
  return sendMore();
}

bool EventChannel::sendMore() {
  // One chunk a turn: the host calls on_session_writable when it has gone, and the loop's
  // other sessions go in between.
  if (remaining_ > 0) {
    chunk_.resize(kChunk);
    size_t wanted = static_cast<size_t>(std::min<uint64_t>(remaining_, kChunk));
    ssize_t got = ::pread(file_.get(), chunk_.data(), wanted, static_cast<off_t>(offset_));
    if (got <= 0) throw std::runtime_error("the file shrank or failed while being sent");
    wharf::Session(session_).write(chunk_.data(), static_cast<size_t>(got));
    offset_ += static_cast<uint64_t>(got);
    remaining_ -= static_cast<uint64_t>(got);
    return false;
  }
  file_.reset();
  chunk_ = {};
  return true;
}

}  // namespace xfer
