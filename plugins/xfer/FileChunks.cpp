#include "FileChunks.h"

#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace xfer {
namespace {

constexpr size_t kChunk = 256 * 1024;

}  // namespace

bool FileChunks::writeNext(wharf::Session &session) {
  if (remaining_ == 0) return false;
  chunk_.resize(kChunk);
  size_t wanted = static_cast<size_t>(std::min<uint64_t>(remaining_, kChunk));
  ssize_t got = ::pread(file_.get(), chunk_.data(), wanted, static_cast<off_t>(offset_));
  if (got <= 0) throw std::runtime_error("the file shrank or failed while being sent");
  session.write(chunk_.data(), static_cast<size_t>(got));
  offset_ += static_cast<uint64_t>(got);
  remaining_ -= static_cast<uint64_t>(got);
  return true;
}

}  // namespace xfer
