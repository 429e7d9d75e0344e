// Internal. Socket activation: the listening sockets systemd passed
// (LISTEN_FDS), by name (FileDescriptorName= in the .socket unit, which must
// be the listener's name). A listener whose name is among them serves that
// socket instead of binding one; it must be of the listener's transport and
// address, or the start is refused saying which. systemd keeps owning it:
// wharfd never shuts it down or removes its file, so connections made while
// wharfd restarts wait for it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "config/Config.h"
#include "net/ListenSocket.h"

namespace wharf::master {

class ActivatedSockets {
 public:
  // THREAD: main, once, at the master's first start. Takes the passed
  // sockets out of the environment (so neither workers nor an upgraded
  // binary see them again).
  static ActivatedSockets take();
  ActivatedSockets() = default;

  // The socket passed for `listener`, checked against its endpoint, or null
  // if none was passed. Throws std::runtime_error when it does not match.
  std::shared_ptr<net::ListenSocket> claim(const config::ListenerConfig &listener);
  // Names of the sockets no listener claimed (closed when this goes).
  std::string unclaimed() const;
  bool empty() const { return byName_.empty(); }
  size_t size() const { return byName_.size(); }

 private:
  std::map<std::string, net::FileDescriptor> byName_;
};

}  // namespace wharf::master
