#include "app/RuntimeFolder.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wharf::app {

void makeRuntimeFolder(const std::filesystem::path &file) {
  std::filesystem::path folder = file.parent_path();
  if (folder.empty() || ::mkdir(folder.c_str(), 0755) == 0 || errno == EEXIST) return;
  throw std::runtime_error("making " + folder.string() + ": " + std::strerror(errno));
}

}  // namespace wharf::app
