// A file written to a session a chunk at a time with session_write: what the
// event channel does once a loop turn, and what the blocking channel falls
// back to where sendfile(2) cannot read the file.
#pragma once

#include <cstdint>
#include <vector>
#include <wharf/wharf.hpp>

#include "common/Fd.h"

namespace xfer {

class FileChunks {
 public:
  // The `size` bytes of `file` from `offset` on.
  FileChunks(common::Fd file, uint64_t offset, uint64_t size)
      : file_(std::move(file)), offset_(offset), remaining_(size) {}

  // Writes the next chunk (at most 256 KiB); false when none was left. Throws
  // std::runtime_error if the file shrank or failed, wharf::Error if the
  // session is closed.
  bool writeNext(wharf::Session &session);

 private:
  common::Fd file_;
  uint64_t offset_;
  uint64_t remaining_;
  std::vector<char> chunk_;
};

}  // namespace xfer
