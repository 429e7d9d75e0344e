// Internal. `watch = true`: notices when one of some files is replaced
// (renamed over, or written and closed) and, once the folder has been quiet
// for a moment (an installer may write several files), calls back on its
// own thread. Watches the folders, not the files: a rename replaces the
// inode. Workers watch their plugin files; the master, TLS certificates and
// keys.
#pragma once

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "net/FileDescriptor.h"
#include "net/StopSignal.h"

namespace wharf::app {

class FileWatcher {
 public:
  // THREAD: main. Throws std::system_error if inotify is not available.
  FileWatcher(std::vector<std::filesystem::path> files, std::function<void()> changed);
  ~FileWatcher();
  FileWatcher(const FileWatcher &) = delete;
  FileWatcher &operator=(const FileWatcher &) = delete;

  const std::vector<std::filesystem::path> &files() const { return files_; }

 private:
  void run() noexcept;
  bool readEvents();  // true if a watched file changed

  std::vector<std::filesystem::path> files_;
  std::function<void()> changed_;
  net::FileDescriptor inotify_;
  std::vector<std::pair<int, std::filesystem::path>> folders_;  // watch descriptor, folder
  std::set<std::filesystem::path> watched_;
  net::StopSignal stop_;
  std::thread thread_;
};

}  // namespace wharf::app
