// Internal. The validated configuration: plain data, built by ConfigLoader.
#pragma once

#include <sys/socket.h>

#include <filesystem>
#include <string>
#include <vector>

#include "net/Endpoint.h"

namespace wharf::config {

struct PluginOption {
  std::string key;  // without the "option." prefix
  std::string value;
};

struct ListenerConfig {
  std::string name;                   // "echo-tcp" for [listener.echo-tcp]
  net::Endpoint endpoint;             // transport + listen
  std::string mode;                   // a dispatch mode name
  std::string pluginName;             // the `plugin` value as written
  std::filesystem::path pluginPath;   // resolved against plugin_dir
  std::vector<PluginOption> options;  // in file order
  int backlog = SOMAXCONN;
  int line = 0;  // of the section header, for messages

  std::string section() const { return "listener." + name; }
};

struct HostConfig {
  std::filesystem::path pluginDir;
  std::filesystem::path adminSocket;  // empty: no control socket
  std::string logLevel = "information";
};

struct Config {
  std::filesystem::path file;
  HostConfig host;
  std::vector<ListenerConfig> listeners;
};

}  // namespace wharf::config
