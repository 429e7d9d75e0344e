#include "net/UnixSocketFile.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "net/FileDescriptor.h"

namespace wharf::net {
namespace {

[[noreturn]] void fail(const std::string &path, const std::string &what, int error) {
  throw std::runtime_error(path + ": " + what + ": " + std::strerror(error));
}

}  // namespace

void removeStaleUnixSocket(const std::string &path, int socketType) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) return;  // nothing there
  if (!S_ISSOCK(status.st_mode))
    throw std::runtime_error(path + ": exists and is not a socket; not replacing it");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    fail(path, "probing the existing socket file", ENAMETOOLONG);
  path.copy(address.sun_path, sizeof address.sun_path - 1);
  // Non-blocking: a live listener whose backlog is full answers EAGAIN, not never.
  FileDescriptor probe(::socket(AF_UNIX, socketType | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe.valid()) fail(path, "socket", errno);
  if (::connect(probe.fd(), reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0 ||
      errno == EAGAIN)
    throw std::runtime_error(path + ": another process is listening on this socket");
  if (errno != ECONNREFUSED) fail(path, "probing the existing socket file", errno);
  if (::unlink(path.c_str()) != 0) fail(path, "removing the stale socket", errno);
}

}  // namespace wharf::net
