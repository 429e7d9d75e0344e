#include "net/ListenSocket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "net/UnixSocketFile.h"

namespace wharf::net {
namespace {

[[noreturn]] void fail(const Endpoint &endpoint, const std::string &what, int error) {
  throw std::runtime_error(std::string(transportName(endpoint.transport)) + " " + endpoint.text +
                           ": " + what + ": " + std::strerror(error));
}

}  // namespace

ListenSocket::ListenSocket(const Endpoint &endpoint, int backlog) : endpoint_(endpoint) {
  if (isUnix(endpoint.transport)) removeStaleUnixSocket(endpoint.text, endpoint.socketType());
  socket_ = HostDescriptor(
      ::socket(endpoint.address.family(), endpoint.socketType() | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket_.valid()) fail(endpoint, "socket", errno);
  int on = 1;
  if (!isUnix(endpoint.transport)) ::setsockopt(fd(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  // "[::1]:p" means IPv6 only; "*:p" is the IPv4 wildcard. No implicit dual stack.
  if (endpoint.address.family() == AF_INET6)
    ::setsockopt(fd(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (::bind(fd(), endpoint.address.get(), endpoint.address.length()) != 0)
    fail(endpoint, "bind", errno);
  if (isUnix(endpoint.transport)) {
    struct stat status {};
    if (::lstat(endpoint.text.c_str(), &status) == 0) unixInode_ = status.st_ino;
  }
  if (isStream(endpoint.transport) && ::listen(fd(), backlog) != 0) fail(endpoint, "listen", errno);
}

ListenSocket::ListenSocket(const Endpoint &endpoint, FileDescriptor bound, Role role)
    : endpoint_(endpoint),
      socket_(std::move(bound)),
      owner_(role == Role::Owner),
      observer_(role == Role::Observer) {
  // Every mode waits with epoll and must never block in accept or recvfrom;
  // a socket systemd passed (socket activation) comes blocking. The flag is
  // the open file's: the master setting it sets it for every worker's copy.
  int flags = ::fcntl(fd(), F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) == 0) ::fcntl(fd(), F_SETFL, flags | O_NONBLOCK);
  struct stat status {};
  if (owner_ && isUnix(endpoint.transport) && ::lstat(endpoint.text.c_str(), &status) == 0)
    unixInode_ = status.st_ino;
}

ListenSocket::~ListenSocket() {
  removeUnixSocketFile();
}

void ListenSocket::stopAccepting() {
  if (!owner_ || !isStream(endpoint_.transport)) return;
  ::shutdown(fd(), SHUT_RDWR);
  removeUnixSocketFile();
}

void ListenSocket::setBacklog(int backlog) {
  if (owner_ && isStream(endpoint_.transport) && ::listen(fd(), backlog) != 0)
    fail(endpoint_, "listen", errno);
}

void ListenSocket::removeUnixSocketFile() {
  struct stat status {};
  if (unixInode_ != 0 && ::lstat(endpoint_.text.c_str(), &status) == 0 &&
      status.st_ino == unixInode_)
    ::unlink(endpoint_.text.c_str());
  unixInode_ = 0;
}

std::string ListenSocket::boundAddress() const {
  SocketAddress bound;
  if (::getsockname(fd(), bound.get(), bound.lengthPointer()) != 0) return endpoint_.text;
  return bound.toString();
}

}  // namespace wharf::net
