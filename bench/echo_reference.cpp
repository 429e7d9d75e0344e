// The reference the reactor is measured against: the smallest honest epoll
// echo server, TCP and UDP on one port, one thread, level-triggered, 64 KiB
// buffer. No framework, no plugin indirection.
//   echo_reference PORT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>

namespace {

int bound(int type, int port) {
  int fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
    std::perror("bind");
    std::exit(1);
  }
  if (type == SOCK_STREAM) ::listen(fd, SOMAXCONN);
  return fd;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) return std::fprintf(stderr, "usage: echo_reference PORT\n"), 2;
  int port = std::atoi(argv[1]);
  int listener = bound(SOCK_STREAM, port);
  int udp = bound(SOCK_DGRAM, port);
  int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  for (int fd : {listener, udp}) {
    epoll_event event{EPOLLIN, {.fd = fd}};
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
  }
  struct Connection {
    std::string out;  // unsent output
    bool watchingOut = false;
  };
  std::unordered_map<int, Connection> connections;
  static char buffer[64 * 1024];
  epoll_event events[256];
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) {
    int ready = ::epoll_wait(epoll, events, 256, -1);
    for (int i = 0; i < ready; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        for (int client;
             (client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          int on = 1;
          ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
          epoll_event event{EPOLLIN, {.fd = client}};
          ::epoll_ctl(epoll, EPOLL_CTL_ADD, client, &event);
        }
      } else if (fd == udp) {
        sockaddr_storage peer{};
        socklen_t length = sizeof peer;
        ssize_t got;
        while ((got = ::recvfrom(udp, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr *>(&peer),
                                 &length)) >= 0) {
          ::sendto(udp, buffer, static_cast<size_t>(got), 0, reinterpret_cast<sockaddr *>(&peer),
                   length);
          length = sizeof peer;
        }
      } else {
        Connection &connection = connections[fd];
        std::string &out = connection.out;
        if ((events[i].events & EPOLLOUT) && !out.empty()) {
          ssize_t sent = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
          if (sent > 0) out.erase(0, static_cast<size_t>(sent));
        }
        ssize_t got = (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                          ? ::recv(fd, buffer, sizeof buffer, 0)
                          : -1;
        if (got == 0 || (got < 0 && errno != EAGAIN && (events[i].events & EPOLLIN))) {
          ::close(fd);
          connections.erase(fd);
          continue;
        }
        if (got > 0) {
          ssize_t sent =
              out.empty() ? ::send(fd, buffer, static_cast<size_t>(got), MSG_NOSIGNAL) : 0;
          if (sent < 0) sent = 0;
          out.append(buffer + sent, static_cast<size_t>(got - sent));
        }
        if (connection.watchingOut == out.empty()) {  // only when the interest changes
          connection.watchingOut = !out.empty();
          epoll_event event{out.empty() ? EPOLLIN : EPOLLIN | EPOLLOUT, {.fd = fd}};
          ::epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event);
        }
      }
    }
  }
}
