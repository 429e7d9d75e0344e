#include "config/ConfigLoader.h"

#include <Poco/Logger.h>
#include <Poco/NumberParser.h>

#include <algorithm>
#include <set>

#include "config/ConfigError.h"

namespace wharf::config {
namespace {

const std::string kHostSection = "host";
const std::string kListenerPrefix = "listener.";
const std::string kOptionPrefix = "option.";
const std::set<std::string> kHostKeys = {"plugin_dir", "admin", "log_level"};
const std::set<std::string> kListenerKeys = {"transport", "listen", "mode", "plugin", "backlog"};

class SectionReader {
 public:
  SectionReader(const IniDocument &document, const IniSection &section)
      : document_(document), section_(section) {}

  [[noreturn]] void fail(const std::string &key, const std::string &reason) const {
    const IniEntry *entry = section_.find(key);
    throw ConfigError({document_.file, entry ? entry->line : section_.line, section_.name, key},
                      reason);
  }

  const std::string *get(const std::string &key) const {
    const IniEntry *entry = section_.find(key);
    return entry ? &entry->value : nullptr;
  }

  const std::string &require(const std::string &key) const {
    const std::string *value = get(key);
    if (value == nullptr || value->empty()) fail(key, "missing (required)");
    return *value;
  }

  // Relative paths resolve against the config file's folder.
  std::filesystem::path path(const std::string &value) const {
    std::filesystem::path path(value);
    if (path.is_relative()) path = document_.file.parent_path() / path;
    return path.lexically_normal();
  }

  void rejectUnknownKeys(const std::set<std::string> &known, bool allowOptions) const {
    for (const auto &entry : section_.entries) {
      bool isOption = allowOptions && entry.key.starts_with(kOptionPrefix) &&
                      entry.key.size() > kOptionPrefix.size();
      if (!isOption && !known.contains(entry.key)) fail(entry.key, "unknown key");
    }
  }

  const IniSection &section() const { return section_; }

 private:
  const IniDocument &document_;
  const IniSection &section_;
};

std::string joined(const std::vector<std::string> &names) {
  std::string text;
  for (const auto &name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace

Config ConfigLoader::load(const std::filesystem::path &file) const {
  return build(IniDocument::read(std::filesystem::absolute(file)));
}

Config ConfigLoader::build(const IniDocument &document) const {
  Config config;
  config.file = document.file;
  config.host = buildHost(document);
  for (const auto &section : document.sections) {
    if (section.name == kHostSection) continue;
    if (!section.name.starts_with(kListenerPrefix) || section.name == kListenerPrefix)
      throw ConfigError({document.file, section.line, section.name, ""},
                        "unknown section (expected [host] or [listener.NAME])");
    ListenerConfig listener = buildListener(document, section, config.host);
    for (const auto &other : config.listeners)
      if (other.endpoint.conflictsWith(listener.endpoint))
        SectionReader(document, section)
            .fail("listen", "address already used by [" + other.section() + "]");
    config.listeners.push_back(std::move(listener));
  }
  if (config.listeners.empty())
    throw ConfigError({document.file, 0, "", ""}, "no [listener.NAME] section: nothing to serve");
  return config;
}

HostConfig ConfigLoader::buildHost(const IniDocument &document) const {
  HostConfig host;
  host.pluginDir = defaults_.pluginDir;
  auto section = std::find_if(document.sections.begin(), document.sections.end(),
                              [](const IniSection &s) { return s.name == kHostSection; });
  if (section == document.sections.end()) return host;
  SectionReader reader(document, *section);
  reader.rejectUnknownKeys(kHostKeys, false);
  if (const std::string *dir = reader.get("plugin_dir")) host.pluginDir = reader.path(*dir);
  if (const std::string *admin = reader.get("admin"); admin && !admin->empty())
    host.adminSocket = reader.path(*admin);
  if (const std::string *level = reader.get("log_level")) {
    try {
      Poco::Logger::parseLevel(*level);
    } catch (const Poco::Exception &) {
      reader.fail("log_level",
                  "unknown level '" + *level +
                      "' (expected fatal, critical, error, warning, notice, information, debug, "
                      "trace)");
    }
    host.logLevel = *level;
  }
  return host;
}

ListenerConfig ConfigLoader::buildListener(const IniDocument &document, const IniSection &section,
                                           const HostConfig &host) const {
  SectionReader reader(document, section);
  reader.rejectUnknownKeys(kListenerKeys, true);
  ListenerConfig listener;
  listener.name = section.name.substr(kListenerPrefix.size());
  listener.line = section.line;

  const std::string &transportText = reader.require("transport");
  auto transport = net::parseTransport(transportText);
  if (!transport)
    reader.fail("transport",
                "unknown transport '" + transportText + "' (expected tcp, udp, unix, unix-dgram)");

  std::string listen = reader.require("listen");
  if (net::isUnix(*transport)) listen = reader.path(listen).string();
  try {
    listener.endpoint = net::parseEndpoint(*transport, listen);
  } catch (const std::invalid_argument &error) {
    reader.fail("listen", "bad address '" + listen + "': " + error.what());
  }

  const std::string *mode = reader.get("mode");
  listener.mode = mode ? *mode : "thread";
  const auto &modes = defaults_.modeNames;
  if (std::find(modes.begin(), modes.end(), listener.mode) == modes.end())
    reader.fail("mode",
                "unknown mode '" + listener.mode + "' (expected one of " + joined(modes) + ")");

  listener.pluginName = reader.require("plugin");
  listener.pluginPath = listener.pluginName.find('/') != std::string::npos
                            ? reader.path(listener.pluginName)
                            : host.pluginDir / (listener.pluginName + ".so");
  std::error_code error;
  if (!std::filesystem::is_regular_file(listener.pluginPath, error))
    reader.fail("plugin", "plugin '" + listener.pluginName + "' not found: no file " +
                              listener.pluginPath.string());

  if (const std::string *backlog = reader.get("backlog")) {
    int value = 0;
    if (!Poco::NumberParser::tryParse(*backlog, value) || value <= 0)
      reader.fail("backlog", "'" + *backlog + "' is not a positive whole number");
    listener.backlog = value;
  }

  for (const auto &entry : section.entries)
    if (entry.key.starts_with(kOptionPrefix))
      listener.options.push_back({entry.key.substr(kOptionPrefix.size()), entry.value});
  return listener;
}

}  // namespace wharf::config
