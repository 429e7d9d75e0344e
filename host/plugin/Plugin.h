// Internal. A loaded, negotiated and initialised plugin: one library copy and
// its descriptor. Shared (by shared_ptr) by every instance made from it, so
// the code stays mapped until the last instance and session are gone.
#pragma once

#include <filesystem>
#include <memory>

#include "plugin/AbiNegotiation.h"
#include "plugin/PluginLibrary.h"

namespace wharf::plugin {

class Plugin {
 public:
  // THREAD: main. Throws PluginError naming the file and the reason.
  static std::shared_ptr<const Plugin> load(const std::filesystem::path &file);
  static std::shared_ptr<const Plugin> load(std::unique_ptr<PluginLibrary> library);
  ~Plugin();  // on_plugin_unload, then dlclose
  Plugin(const Plugin &) = delete;
  Plugin &operator=(const Plugin &) = delete;

  const PluginDescriptor &descriptor() const { return descriptor_; }
  const wharf_plugin &hooks() const { return descriptor_.hooks; }
  bool has(uint32_t capability) const { return descriptor_.has(capability); }
  const std::string &name() const { return descriptor_.name; }
  const std::string &version() const { return descriptor_.version; }
  const std::filesystem::path &file() const { return library_->file(); }
  // The private copy this plugin was loaded from (see PluginLibrary).
  int stagedFd() const { return library_->stagedFd(); }

 private:
  Plugin(std::unique_ptr<PluginLibrary> library, PluginDescriptor descriptor)
      : library_(std::move(library)), descriptor_(std::move(descriptor)) {}

  std::unique_ptr<PluginLibrary> library_;
  PluginDescriptor descriptor_;
};

}  // namespace wharf::plugin
