#include "Jail.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "Names.h"

namespace ftp {
namespace {

int openInRoot(int root, const std::string &relative, int flags, mode_t mode) {
  open_how how{};
  // Never blocking: opening a FIFO (or a device) planted in the tree must not
  // hold the session; callers check the type on the descriptor.
  if (!(flags & O_PATH)) flags |= O_NONBLOCK;
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char *path = relative.empty() ? "." : relative.c_str();
  for (;;) {
    long fd = ::syscall(SYS_openat2, root, path, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) return static_cast<int>(fd);  // EAGAIN: a rename raced
  }
}

std::string relativeOf(const std::string &path) {
  return path.size() > 1 ? path.substr(1) : std::string();
}

}  // namespace

Jail::Jail(const std::string &root)
    : root_(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) {
  if (!root_.valid()) throw std::runtime_error("root " + root + ": " + std::strerror(errno));
}

Jail Jail::inside(const std::string &path) const {
  Fd folder = open(resolve("/", path), O_PATH | O_DIRECTORY);
  if (!folder.valid()) throw std::runtime_error("home " + path + ": " + std::strerror(errno));
  return Jail(std::move(folder));
}

std::string Jail::resolve(const std::string &cwd, const std::string &argument) {
  std::vector<std::string> parts;
  std::string combined = argument.starts_with("/") ? argument : cwd + "/" + argument;
  size_t at = 0;
  while (at <= combined.size()) {
    size_t slash = combined.find('/', at);
    if (slash == std::string::npos) slash = combined.size();
    std::string part = combined.substr(at, slash - at);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    at = slash + 1;
  }
  std::string path;
  for (const auto &part : parts) path += "/" + part;
  return path.empty() ? "/" : path;
}

std::string Jail::leaf(const std::string &path) {
  return path == "/" ? "" : path.substr(path.rfind('/') + 1);
}

Fd Jail::open(const std::string &path, int flags, mode_t mode) const {
  return Fd(openInRoot(root_.get(), relativeOf(path), flags, mode));
}

bool Jail::stat(const std::string &path, struct stat &status) const {
  Fd file = open(path, O_PATH);
  return file.valid() && ::fstat(file.get(), &status) == 0;
}

bool Jail::entry(const std::string &path, Entry &entry) const {
  entry.name = leaf(path);
  if (entry.name.empty()) {
    errno = EPERM;  // the root itself
    return false;
  }
  entry.folder = open(path.substr(0, path.rfind('/')), O_PATH | O_DIRECTORY);
  return entry.folder.valid();
}

bool Jail::forEachEntry(const std::string &path, const Visit &visit, size_t &hidden) const {
  Fd folder = open(path, O_RDONLY | O_DIRECTORY);
  if (!folder.valid()) return false;
  DIR *listing = ::fdopendir(folder.get());
  if (listing == nullptr) return false;
  folder.release();  // the DIR owns it now
  while (dirent *entry = ::readdir(listing)) {
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    if (!listableName(entry->d_name)) {
      ++hidden;
      continue;
    }
    struct stat status {};
    if (::fstatat(::dirfd(listing), entry->d_name, &status, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!visit(entry->d_name, status, ::dirfd(listing))) break;
  }
  ::closedir(listing);
  return true;
}

}  // namespace ftp
