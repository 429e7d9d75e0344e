// Internal. Reads a config file and validates all of it: the only place that
// knows the keys. Anything wrong throws ConfigError naming file, line,
// section, key and reason, before anything starts.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/Config.h"
#include "config/IniDocument.h"

namespace wharf::config {

// What a session costs in a dispatch mode, which sets the defaults and
// bounds of its listeners' limits. DispatchMode holds one per mode.
struct ModeLimits {
  // A stream session holds a thread, worker or process while it waits for
  // input: idle_timeout defaults to kBlockingIdleTimeout.
  bool holdsSessions = false;
  // max_connections without the key; 0: half the open-files hard limit.
  size_t sessionsDefault = 0;
  // The key that sets how many threads (or processes) the mode runs at once,
  // and that count of a listener, checked against ulimit -u (and for
  // threads -v). An empty key: nothing to check.
  const char *concurrencyKey = "";
  bool concurrencyInThreads = false;
  size_t (*concurrency)(const ListenerConfig &) = nullptr;
};

// What the loader needs to know of a dispatch mode.
struct ModeDescription {
  std::string mode;               // a dispatch mode this build offers
  std::vector<std::string> keys;  // the listener keys that only this mode takes
  ModeLimits limits;
};

struct LoaderDefaults {
  std::filesystem::path pluginDir;  // when [host] plugin_dir is absent
  std::vector<ModeDescription> modes;
};

// "a, b, c": names as messages list them (modes, listeners).
std::string joined(const std::vector<std::string> &names);

class ConfigLoader {
 public:
  explicit ConfigLoader(LoaderDefaults defaults) : defaults_(std::move(defaults)) {}

  Config load(const std::filesystem::path &file) const;
  // `text` as if read from `file` (relative paths resolve against its folder);
  // the files it names that `held` has are taken from there, not read.
  Config parse(const std::filesystem::path &file, const std::string &text,
               const HeldFiles *held = nullptr) const;
  Config build(const IniDocument &document, const HeldFiles *held = nullptr) const;

 private:
  HostConfig buildHost(const IniDocument &document) const;
  ListenerConfig buildListener(const IniDocument &document, const IniSection &section,
                               std::vector<std::string> &warnings, const HostConfig &host,
                               const HeldFiles *held) const;

  LoaderDefaults defaults_;
};

}  // namespace wharf::config
