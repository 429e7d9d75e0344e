#include "Store.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace xfer {
namespace {

constexpr mode_t kFileMode = 0644;  // less the process's umask

[[noreturn]] void fail(const std::string &what, int error) {
  throw std::runtime_error(what + ": " + std::strerror(error));
}

// A name no client can send (they may not start with a dot) and no other
// session picks: a random one.
std::string temporaryName() {
  unsigned char random[8] = {};
  if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random))
    fail("no random bytes for a temporary name", errno);
  std::string name = ".xfer-";
  for (unsigned char byte : random) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", byte);
    name += hex;
  }
  return name;
}

// Repeats `attempt(name)` with fresh temporary names while it fails with EEXIST.
template <typename Attempt>
std::string withFreshName(Attempt &&attempt) {
  for (int tries = 0; tries < 16; ++tries) {
    std::string name = temporaryName();
    if (attempt(name)) return name;
    if (errno != EEXIST) break;
  }
  fail("cannot make a temporary file", errno);
}

}  // namespace

Store::Store(const std::string &root)
    : root_(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  if (!root_.valid()) fail("option.root '" + root + "'", errno);
}

Store::Download Store::openForDownload(const std::string &name) const {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  common::Fd file(::openat(root_.get(), name.c_str(),
                           O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!file.valid()) {
    if (errno == ENOENT) throw std::runtime_error("no such file");
    if (errno == ELOOP) throw std::runtime_error("not a regular file");
    fail("cannot open", errno);
  }
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) fail("cannot open", errno);
  if (!S_ISREG(status.st_mode)) throw std::runtime_error("not a regular file");
  return {std::move(file), static_cast<uint64_t>(status.st_size)};
}

Store::Upload Store::beginUpload(const std::string &name) const {
  struct stat existing {};
  if (::fstatat(root_.get(), name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
      !S_ISREG(existing.st_mode))
    throw std::runtime_error("not a regular file");
  common::Fd file(::openat(root_.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, kFileMode));
  if (file.valid()) return Upload(root_.get(), name, std::move(file), {});
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) fail("cannot store", errno);
  // A file system without O_TMPFILE: a named temporary, removed if the upload fails.
  std::string temporary = withFreshName([&](const std::string &candidate) {
    file = common::Fd(::openat(root_.get(), candidate.c_str(),
                               O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, kFileMode));
    return file.valid();
  });
  return Upload(root_.get(), name, std::move(file), std::move(temporary));
}

Store::Upload::~Upload() {
  discard();
}

Store::Upload &Store::Upload::operator=(Upload &&other) noexcept {
  if (this != &other) {
    discard();
    root_ = other.root_;
    name_ = std::move(other.name_);
    file_ = std::move(other.file_);
    temporaryName_ = std::exchange(other.temporaryName_, {});
  }
  return *this;
}

void Store::Upload::reserve(uint64_t bytes) {
  if (bytes == 0) return;
  while (::fallocate(file_.get(), 0, 0, static_cast<off_t>(bytes)) != 0) {
    if (errno == EINTR) continue;
    if (errno == EOPNOTSUPP) return;
    if (errno == ENOSPC)
      throw std::runtime_error("no space for " + std::to_string(bytes) + " bytes");
    fail("cannot store", errno);
  }
}

void Store::Upload::write(const void *data, size_t length) {
  const char *bytes = static_cast<const char *>(data);
  while (length > 0) {
    ssize_t written = ::write(file_.get(), bytes, length);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) fail("cannot store", written < 0 ? errno : ENOSPC);
    bytes += written;
    length -= static_cast<size_t>(written);
  }
}

void Store::Upload::commit() {
  if (temporaryName_.empty()) {
    // An unnamed file gets a name through /proc (linkat with AT_EMPTY_PATH would need
    // CAP_DAC_READ_SEARCH), then takes the real name in one rename.
    std::string path = "/proc/self/fd/" + std::to_string(file_.get());
    temporaryName_ = withFreshName([&](const std::string &candidate) {
      return ::linkat(AT_FDCWD, path.c_str(), root_, candidate.c_str(), AT_SYMLINK_FOLLOW) == 0;
    });
  }
  if (::renameat(root_, temporaryName_.c_str(), root_, name_.c_str()) != 0)
    fail("cannot store", errno);
  temporaryName_.clear();
  file_.reset();
}

void Store::Upload::discard() {
  if (!temporaryName_.empty()) ::unlinkat(root_, temporaryName_.c_str(), 0);
  temporaryName_.clear();
  file_.reset();
}

}  // namespace xfer
