// The listener's root folder: one flat folder, puts land in it and gets read
// from it. Names are checked (FileName.h) and opened with O_NOFOLLOW below
// the root's descriptor, so nothing outside the root is ever reached; only
// regular files are served. An upload is written to an unnamed file
// (O_TMPFILE) and linked into place only when all its bytes have come: a
// client that goes away mid-upload leaves the previous file intact and no
// partial one, even if the process is killed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>

#include "common/Fd.h"

namespace xfer {

class Store {
 public:
  // Throws std::runtime_error if `root` is not a folder that can be opened.
  explicit Store(const std::string &root);

  struct Download {
    common::Fd file;
    uint64_t size = 0;
  };
  // The file `name`, opened for reading. Throws std::runtime_error with the
  // reason the client is told (no such file, not a regular file, ...).
  Download openForDownload(const std::string &name) const;

  // A file being received. Destroying it before commit() discards it.
  class Upload {
   public:
    Upload() = default;
    Upload(Upload &&other) noexcept { *this = std::move(other); }
    Upload &operator=(Upload &&other) noexcept;
    ~Upload();

    bool active() const { return file_.valid(); }
    int fd() const { return file_.get(); }
    // Claims the space for `bytes` at once, so a put that cannot fit is
    // refused before its bytes come and no other upload takes the space
    // midway. Nothing is claimed where the file system cannot (EOPNOTSUPP).
    // Throws std::runtime_error (no space, file too large).
    void reserve(uint64_t bytes);
    // Throws std::runtime_error (no space, I/O error).
    void write(const void *data, size_t length);
    // Puts the whole file in place under its name. Throws std::runtime_error.
    void commit();

   private:
    friend class Store;
    Upload(int root, std::string name, common::Fd file, std::string temporaryName)
        : root_(root),
          name_(std::move(name)),
          file_(std::move(file)),
          temporaryName_(std::move(temporaryName)) {}
    void discard();

    int root_ = -1;  // borrowed from the Store, which outlives every upload
    std::string name_;
    common::Fd file_;
    std::string temporaryName_;  // only where O_TMPFILE is not supported: a named temporary
  };
  // Throws std::runtime_error with the reason the client is told.
  Upload beginUpload(const std::string &name) const;

 private:
  common::Fd root_;  // O_DIRECTORY
};

}  // namespace xfer
