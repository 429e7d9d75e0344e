#include "logging/LogFileOpen.h"

#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <deque>
#include <system_error>
#include <vector>

namespace wharf::logging {
namespace {

// As the kernel's own limit on links followed in one lookup.
constexpr int kMaxLinks = 40;

[[noreturn]] void fail(int error, const std::string &path, const std::string &why = {}) {
  throw std::system_error(error, std::generic_category(),
                          "opening " + path + (why.empty() ? "" : " (" + why + ")"));
}

// The components of `path`, without empty ones and ".".
std::deque<std::string> componentsOf(const std::string &path) {
  std::deque<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    start = end + 1;
  }
  return parts;
}

net::FileDescriptor openRoot(const std::string &path) {
  net::FileDescriptor root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) fail(errno, path);
  return root;
}

std::string linkTarget(int folder, const std::string &name, const std::string &path) {
  std::string target(PATH_MAX, '\0');
  ssize_t length = ::readlinkat(folder, name.c_str(), target.data(), target.size());
  if (length < 0) fail(errno, path);
  target.resize(static_cast<size_t>(length));
  return target;
}

// The calling thread's file-system uid and gid and its supplementary
// groups, switched to `account`'s for one open: the kernel keeps them per
// thread (the raw setgroups system call; glibc's wrapper would change every
// thread's), and nothing else changes.
class FilesystemIdentity {
 public:
  explicit FilesystemIdentity(const process::Account &account) : groups_(NGROUPS_MAX) {
    int count = ::getgroups(static_cast<int>(groups_.size()), groups_.data());
    groups_.resize(static_cast<size_t>(std::max(count, 0)));
    gid_ = static_cast<gid_t>(::setfsgid(account.gid));
    uid_ = static_cast<uid_t>(::setfsuid(account.uid));
    taken_ = count >= 0 &&
             ::syscall(SYS_setgroups, account.groups.size(), account.groups.data()) == 0 &&
             static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))) == account.uid &&
             static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1))) == account.gid;
  }
  ~FilesystemIdentity() {
    ::syscall(SYS_setgroups, groups_.size(), groups_.data());
    ::setfsuid(uid_);
    ::setfsgid(gid_);
  }
  FilesystemIdentity(const FilesystemIdentity &) = delete;
  FilesystemIdentity &operator=(const FilesystemIdentity &) = delete;
  bool taken() const { return taken_; }

 private:
  std::vector<gid_t> groups_;
  gid_t gid_ = 0;
  uid_t uid_ = 0;
  bool taken_ = false;
};

// Whether the folder has an access ACL beyond its mode bits (which may let
// the workers' user write it: treated as if it did).
bool hasAccessAcl(int folder) {
  std::string path = "/proc/self/fd/" + std::to_string(folder);
  return ::getxattr(path.c_str(), "system.posix_acl_access", nullptr, 0) > 0;
}

constexpr int kAppend = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;

int openAs(const process::Account &account, int folder, const std::string &name,
           const std::string &path) {
  int fd, error;
  {
    FilesystemIdentity identity(account);
    if (!identity.taken()) fail(EPERM, path, "cannot take user " + account.name + "'s identity");
    fd = ::openat(folder, name.c_str(), kAppend, 0640);
    error = errno;
  }
  errno = error;  // for the caller, whatever restoring the identity did
  return fd;
}

// A workers' account that can write `folder` (`here`): its owner if that is
// one, else the first; null if none can. When two can, either could plant a
// trap there: links are refused whoever made them, and a hard link to a file
// only one of them may write needs fs.protected_hardlinks off.
const process::Account *writerOf(int folder, const struct stat &here,
                                 const std::vector<process::Account> &untrusted) {
  const process::Account *writer = nullptr;
  bool acl = !untrusted.empty() && hasAccessAcl(folder);
  for (const auto &account : untrusted) {
    if (!acl && !account.mayWrite(here)) continue;
    if (account.uid == here.st_uid) return &account;
    if (writer == nullptr) writer = &account;
  }
  return writer;
}

const process::Account *madeBy(uid_t owner, const std::vector<process::Account> &untrusted) {
  for (const auto &account : untrusted)
    if (account.uid == owner) return &account;
  return nullptr;
}

// The last component, in `folder` (already walked to); `writer` can write
// that folder (null: no workers' user can).
net::FileDescriptor openLast(int folder, const std::string &name, const process::Account *writer,
                             const std::vector<process::Account> &untrusted,
                             const std::string &path) {
  int fd;
  auto check = [&] {
    // A FIFO without a reader (O_NONBLOCK: never waits for one).
    if (fd < 0 && errno == ENXIO) fail(EINVAL, path, "not a regular file");
  };
  if (writer != nullptr) {
    fd = openAs(*writer, folder, name, path);
    check();
    if (fd < 0) fail(errno, path, "as " + writer->name + ", who can write its folder");
  } else {
    fd = ::openat(folder, name.c_str(), kAppend, 0640);
    // A file a workers' user owns (logrotate's `create`), in a folder it
    // cannot write: the master keeps no CAP_DAC_OVERRIDE.
    struct stat existing {};
    if (fd < 0 && errno == EACCES &&
        ::fstatat(folder, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0)
      if (const process::Account *owner = madeBy(existing.st_uid, untrusted))
        fd = openAs(*owner, folder, name, path);
    check();
    if (fd < 0) fail(errno, path);
  }
  net::FileDescriptor file(fd);
  struct stat status {};
  if (::fstat(file.fd(), &status) != 0) fail(errno, path);
  if (!S_ISREG(status.st_mode)) fail(EINVAL, path, "not a regular file");
  return file;
}

}  // namespace

net::FileDescriptor openLogFile(const std::string &path,
                                const std::vector<process::Account> &untrusted) {
  if (path.empty() || path.front() != '/') fail(EINVAL, path, "not an absolute path");
  std::deque<std::string> left = componentsOf(path);
  if (left.empty()) fail(EISDIR, path);
  net::FileDescriptor folder = openRoot(path);
  int links = 0;
  for (;;) {
    std::string name = std::move(left.front());
    left.pop_front();
    struct stat here {};
    if (::fstat(folder.fd(), &here) != 0) fail(errno, path);
    const process::Account *writer = writerOf(folder.fd(), here, untrusted);
    struct stat entry {};
    bool exists = ::fstatat(folder.fd(), name.c_str(), &entry, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT) fail(errno, path);
    if (exists && S_ISLNK(entry.st_mode)) {
      if (writer != nullptr)
        fail(ELOOP, path, name + " is a symbolic link in a folder " + writer->name + " can write");
      if (const process::Account *maker = madeBy(entry.st_uid, untrusted))
        fail(ELOOP, path, name + " is a symbolic link " + maker->name + " made");
      if (++links > kMaxLinks) fail(ELOOP, path);
      std::string target = linkTarget(folder.fd(), name, path);
      std::deque<std::string> parts = componentsOf(target);
      left.insert(left.begin(), parts.begin(), parts.end());
      if (target.starts_with('/')) folder = openRoot(path);
      if (left.empty()) fail(EISDIR, path);
      continue;
    }
    if (left.empty()) return openLast(folder.fd(), name, writer, untrusted, path);
    net::FileDescriptor next(
        ::openat(folder.fd(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) fail(errno, path);
    folder = std::move(next);
  }
}

}  // namespace wharf::logging
