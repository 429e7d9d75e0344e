// A download's way from the page cache to the data socket: splice(2) from the
// file into a pipe of its own, then from the pipe into the socket. sendfile(2)
// does the same through the kernel's pipe of 64 KiB, so the socket is locked
// and pushed once per 64 KiB; a pipe of 1 MiB does that a sixteenth as often
// and, on loopback, took about a fifth less server CPU per GiB (bench/ftp's
// "server CPU" column). Where the pipe cannot grow (the user's pipe pages are
// spent, fs.pipe-user-pages-soft) it works at the size it has.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>

#include "Fd.h"

namespace ftp {

class FilePipe {
 public:
  // nullopt when no pipe can be made (descriptors spent): copy instead.
  static std::optional<FilePipe> make();

  // With the pipe empty: takes up to `length` bytes of `file` at `offset`
  // (advanced). The bytes taken, 0 at the end of the file, -1 with errno
  // (EINVAL: the file system cannot splice).
  ssize_t fill(int file, off_t &offset, size_t length);
  // Moves what the pipe holds into `socket`: the bytes moved, or -1 with
  // errno (EAGAIN: the socket's buffer stayed full for its send timeout).
  ssize_t drain(int socket);
  size_t held() const { return held_; }

 private:
  FilePipe(Fd read, Fd write, size_t capacity)
      : read_(std::move(read)), write_(std::move(write)), capacity_(capacity) {}

  Fd read_;
  Fd write_;
  size_t capacity_;
  size_t held_ = 0;
};

}  // namespace ftp
