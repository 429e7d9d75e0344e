// Internal. One loaded copy of a plugin's shared library.
//
// Every load is of a private copy (a memfd holding the file's bytes), opened
// with RTLD_NOW | RTLD_LOCAL: glibc would hand back an already-loaded image for
// the same path or inode, so reloading the same path must never reach it, and
// nothing is left on disk if the host dies. The memfd stays open while the
// library is loaded: glibc also matches on the path, and a closed descriptor's
// number (hence "/proc/self/fd/N") would be reused by the next load; a copy
// kept mapped (keepMapped) keeps its memfd for good. dlopen and dlclose run
// under one lock of ours, which ThreadSanitizer can see.
// Poco::SharedLibrary is not used
// because it opens with RTLD_LAZY and cannot load from a descriptor.
#pragma once

#include <filesystem>
#include <string>

#include "net/FileDescriptor.h"

namespace wharf::plugin {

class PluginLibrary {
 public:
  // Throws PluginError: file missing or unreadable, not a loadable shared object.
  explicit PluginLibrary(const std::filesystem::path &file);
  // Loads a copy staged by another PluginLibrary (a fork helper receives
  // wharfd's); `file` names it in messages.
  PluginLibrary(net::FileDescriptor staged, const std::filesystem::path &file);
  ~PluginLibrary();  // dlclose, unless keepMapped() was called (then the memfd stays open too)
  PluginLibrary(const PluginLibrary &) = delete;
  PluginLibrary &operator=(const PluginLibrary &) = delete;

  // The address of an exported symbol, or nullptr.
  void *symbol(const char *name) const;
  // For plugins that declare WHARF_CAP_NEVER_UNLOAD: the code stays mapped.
  void keepMapped() { keepMapped_ = true; }
  const std::filesystem::path &file() const { return file_; }
  int stagedFd() const { return staged_.fd(); }

 private:
  void open();

  std::filesystem::path file_;
  net::FileDescriptor staged_;  // the memfd holding this copy; closed after dlclose
  void *handle_ = nullptr;
  bool keepMapped_ = false;
};

}  // namespace wharf::plugin
