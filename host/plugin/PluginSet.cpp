#include "plugin/PluginSet.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "plugin/PluginError.h"

namespace wharf::plugin {

bool PluginSet::FileVersion::operator==(const FileVersion &other) const {
  return device == other.device && inode == other.inode && size == other.size &&
         modified.tv_sec == other.modified.tv_sec && modified.tv_nsec == other.modified.tv_nsec;
}

std::shared_ptr<const Plugin> PluginSet::get(const std::filesystem::path &file) {
  struct stat status {};
  if (::stat(file.c_str(), &status) != 0)
    throw PluginError(file, errno == ENOENT ? "no such file" : std::strerror(errno));
  FileVersion version{status.st_dev, status.st_ino, status.st_size, status.st_mtim};
  Loaded &slot = loaded_[file];
  if (auto plugin = slot.plugin.lock(); plugin && slot.version == version) return plugin;
  auto plugin = Plugin::load(file);
  slot = {version, plugin};
  return plugin;
}

}  // namespace wharf::plugin
