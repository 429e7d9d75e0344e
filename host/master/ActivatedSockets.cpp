#include "master/ActivatedSockets.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "config/ConfigLoader.h"

namespace wharf::master {

ActivatedSockets ActivatedSockets::take() {
  ActivatedSockets sockets;
  char **names = nullptr;
  int count = sd_listen_fds_with_names(1, &names);
  for (int i = 0; i < count; ++i) {
    std::string name = names && names[i] ? names[i] : "unknown";
    sockets.byName_[name] = net::FileDescriptor(SD_LISTEN_FDS_START + i);
  }
  for (int i = 0; names && names[i]; ++i) std::free(names[i]);
  std::free(names);
  return sockets;
}

std::shared_ptr<net::ListenSocket> ActivatedSockets::claim(const config::ListenerConfig &listener) {
  auto found = byName_.find(listener.name);
  if (found == byName_.end()) return nullptr;
  const net::Endpoint &endpoint = listener.endpoint;
  int fd = found->second.fd();
  bool stream = net::isStream(endpoint.transport);
  bool matches = net::isUnix(endpoint.transport)
                     ? sd_is_socket_unix(fd, endpoint.socketType(), stream ? 1 : -1,
                                         endpoint.text.c_str(), 0) > 0
                     : sd_is_socket_sockaddr(fd, endpoint.socketType(), endpoint.address.get(),
                                             endpoint.address.length(), stream ? 1 : -1) > 0;
  if (!matches)
    throw std::runtime_error(
        "listener [" + listener.section() + "]: the socket systemd passed as '" + listener.name +
        "' is not a " + (stream ? "listening " : "") +
        std::string(net::transportName(endpoint.transport)) + " socket on " + endpoint.text +
        " (check ListenStream=/ListenDatagram= and "
        "FileDescriptorName= in the .socket unit)");
  auto socket = std::make_shared<net::ListenSocket>(endpoint, std::move(found->second),
                                                    net::ListenSocket::Role::Shared);
  byName_.erase(found);
  return socket;
}

std::string ActivatedSockets::unclaimed() const {
  std::vector<std::string> names;
  for (const auto &[name, fd] : byName_) names.push_back(name);
  return config::joined(names);
}

}  // namespace wharf::master
