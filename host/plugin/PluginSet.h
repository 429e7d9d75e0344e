// Internal. The plugins the config names, each file loaded once however many
// listeners use it. A file that changed since it was loaded (another inode,
// size or modification time: a new version installed) is loaded afresh;
// a version no listener uses any more is unloaded.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <filesystem>
#include <map>
#include <memory>

#include "plugin/Plugin.h"

namespace wharf::plugin {

class PluginSet {
 public:
  // THREAD: main. Throws PluginError.
  std::shared_ptr<const Plugin> get(const std::filesystem::path &file);

 private:
  struct FileVersion {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    timespec modified{};

    bool operator==(const FileVersion &other) const;
  };
  struct Loaded {
    FileVersion version;
    std::weak_ptr<const Plugin> plugin;
  };

  std::map<std::filesystem::path, Loaded> loaded_;
};

}  // namespace wharf::plugin
