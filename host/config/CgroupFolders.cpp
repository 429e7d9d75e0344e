#include "config/CgroupFolders.h"

#include <fstream>
#include <optional>
#include <sstream>

namespace wharf::config {
namespace {

// `own` and its ancestors up to `root`.
std::vector<std::filesystem::path> upTo(const std::filesystem::path &root, const std::string &own) {
  std::vector<std::filesystem::path> folders;
  auto folder = (root / std::filesystem::path(own).relative_path()).lexically_normal();
  if (!folder.has_filename()) folder = folder.parent_path();  // "/sys/fs/cgroup/"
  for (; folder.string().starts_with(root.string()); folder = folder.parent_path()) {
    folders.push_back(folder);
    if (folder == root) break;
  }
  return folders;
}

// The path of the line of /proc/self/cgroup whose controller list is `controllers`
// ("" for v2) or contains it; nullopt if none.
std::optional<std::string> ownPath(const std::string &controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {  // "ID:CONTROLLERS:/PATH"
    size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    bool match = controller.empty() ? controllers.empty() : false;
    std::istringstream names(controllers);
    for (std::string name; !controller.empty() && std::getline(names, name, ',');)
      match = match || name == controller;
    if (match) return line.substr(second + 1);
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::filesystem::path> cgroupFolders() {
  auto own = ownPath("");
  return own ? upTo("/sys/fs/cgroup", *own) : std::vector<std::filesystem::path>{};
}

std::vector<std::filesystem::path> cgroupV1Folders(const std::string &controller) {
  auto own = ownPath(controller);
  return own ? upTo("/sys/fs/cgroup/" + controller, *own) : std::vector<std::filesystem::path>{};
}

std::vector<std::string> firstLines(const std::vector<std::filesystem::path> &folders,
                                    const std::string &file) {
  std::vector<std::string> lines;
  for (const auto &folder : folders) {
    std::ifstream in(folder / file);
    if (std::string line; std::getline(in, line)) lines.push_back(line);
  }
  return lines;
}

}  // namespace wharf::config
