// A user's view of the file system: every path resolves inside the user's
// root, with openat2(RESOLVE_IN_ROOT), so "..", absolute paths and symlinks
// pointing out all stay in the root, without a racy realpath comparison.
// Paths are virtual: absolute ("/pub/a.txt") within the jail.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <string>

#include "Fd.h"

namespace ftp {

class Jail {
 public:
  Jail() = default;
  // `root` is opened at once. Throws std::runtime_error if it is not a folder.
  explicit Jail(const std::string &root);
  // A jail inside this one (a user's home); throws if `path` is not a folder.
  Jail inside(const std::string &path) const;

  // `argument` taken relative to the folder `cwd`, "." and ".." applied,
  // never above "/". Both are virtual paths.
  static std::string resolve(const std::string &cwd, const std::string &argument);
  // The last component of a virtual path ("" for "/").
  static std::string leaf(const std::string &path);

  // On failure these return -1 (or false) with errno set.
  Fd open(const std::string &path, int flags, mode_t mode = 0) const;
  bool stat(const std::string &path, struct stat &status) const;
  // The folder holding `path` (its last component must be a real name),
  // with that name, for the *at() calls that create, remove and rename.
  struct Entry {
    Fd folder;
    std::string name;
  };
  bool entry(const std::string &path, Entry &entry) const;
  // Calls visit(name, status, folder) for each entry of the folder `path`
  // but "." and "..", with the status of the entry itself (a symlink is a
  // symlink) and the folder's descriptor for *at() calls; visit returns false
  // to stop. False, with errno, if the folder cannot be read. Streams: no
  // listing is held in memory. Names that are not listableName() (a CR or
  // LF would forge listing lines; FTP speaks UTF-8) are never visited: they
  // are counted in `hidden`.
  using Visit = std::function<bool(const char *name, const struct stat &status, int folder)>;
  bool forEachEntry(const std::string &path, const Visit &visit, size_t &hidden) const;

 private:
  explicit Jail(Fd root) : root_(std::move(root)) {}

  Fd root_;  // O_PATH | O_DIRECTORY
};

}  // namespace ftp
