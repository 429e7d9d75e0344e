// Internal. A plugin that cannot be used: the message names the file and why.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace wharf::plugin {

class PluginError : public std::runtime_error {
 public:
  PluginError(const std::filesystem::path &file, const std::string &reason)
      : std::runtime_error("plugin " + file.string() + ": " + reason) {}
};

}  // namespace wharf::plugin
