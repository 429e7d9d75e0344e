#include "plugin/PluginLibrary.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "net/FileDescriptor.h"
#include "plugin/PluginError.h"

namespace wharf::plugin {
namespace {

// Held around dlopen and dlclose. glibc's loader lock already serializes
// them, but ThreadSanitizer cannot see that lock (nor the loader's own munmap
// and mmap): a copy mapped where an unloaded one was would be reported as
// racing with the old copy's last reads on other threads. Recursive: a
// library's constructors and destructors may load and unload others. Never
// destroyed: a library may be unloaded as the process exits.
std::recursive_mutex &loaderLock() {
  static auto *lock = new std::recursive_mutex;
  return *lock;
}

// Copies the file into an anonymous memory file; returns its descriptor.
net::FileDescriptor stageCopy(const std::filesystem::path &file) {
  net::FileDescriptor source(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!source.valid()) throw PluginError(file, std::strerror(errno));
  std::string name = "wharf-" + file.filename().string();
  net::FileDescriptor copy(::memfd_create(name.c_str(), MFD_CLOEXEC));
  if (!copy.valid()) throw PluginError(file, std::string("memfd_create: ") + std::strerror(errno));
  char buffer[64 * 1024];
  for (;;) {
    ssize_t got = ::read(source.fd(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw PluginError(file, std::string("read: ") + std::strerror(errno));
    if (got == 0) break;
    for (ssize_t done = 0; done < got;) {
      ssize_t put = ::write(copy.fd(), buffer + done, static_cast<size_t>(got - done));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) throw PluginError(file, std::string("staging: ") + std::strerror(errno));
      done += put;
    }
  }
  return copy;
}

// dlerror() names the staged path; operators need the file they configured.
std::string loaderMessage(const std::string &stagedPath) {
  const char *raw = ::dlerror();
  std::string message = raw ? raw : "unknown dlopen error";
  if (message.starts_with(stagedPath + ": ")) message.erase(0, stagedPath.size() + 2);
  return "not a loadable shared object (" + message + ")";
}

}  // namespace

PluginLibrary::PluginLibrary(const std::filesystem::path &file) : file_(file) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) throw PluginError(file, "no such file");
  staged_ = stageCopy(file);
  open();
}

PluginLibrary::PluginLibrary(net::FileDescriptor staged, const std::filesystem::path &file)
    : file_(file), staged_(std::move(staged)) {
  open();
}

void PluginLibrary::open() {
  std::string stagedPath = "/proc/self/fd/" + std::to_string(staged_.fd());
  {
    std::lock_guard lock(loaderLock());
    handle_ = ::dlopen(stagedPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  }
  if (handle_ == nullptr) throw PluginError(file_, loaderMessage(stagedPath));
}

PluginLibrary::~PluginLibrary() {
  if (handle_ == nullptr) return;
  if (keepMapped_) {
    // The image stays loaded under "/proc/self/fd/N": N must never be reused,
    // or the next copy staged there would be handed this image instead.
    staged_.release();
    return;
  }
  std::lock_guard lock(loaderLock());
  ::dlclose(handle_);
}

void *PluginLibrary::symbol(const char *name) const {
  return ::dlsym(handle_, name);
}

}  // namespace wharf::plugin
