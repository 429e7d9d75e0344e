// The load generator of bench/run: one epoll thread driving many clients
// against 127.0.0.1:PORT, counting completed exchanges.
//   loadgen pingpong PORT CONNECTIONS SIZE SECONDS [THINK_MS]
//                                                    TCP ping-pong, SIZE-byte messages
//                                                    (ends early on SIGINT; prints
//                                                    "connected N" once all are); with
//                                                    THINK_MS, each client waits that
//                                                    long after a reply before its next
//                                                    message: a load below saturation
//   loadgen udp      PORT CLIENTS     SIZE SECONDS   UDP ping-pong, one datagram in flight each
//   loadgen connrate PORT CONCURRENCY SIZE SECONDS   connect, one SIZE-byte echo, close
//   loadgen idle     PORT CONNECTIONS PID            hold idle connections, print PID's VmRSS
// Prints "ops_per_sec N" (or "rss_kb N"), and for ping-pong the round-trip
// latency percentiles "p50_us N", "p99_us N", "max_us N"; exits non-zero on
// a wrong echo.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// A bench that changes the server while load runs (bench/migration) cannot
// know beforehand how long its change takes: it stops the run with SIGINT.
volatile std::sig_atomic_t interrupted = 0;

sockaddr_in target(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

[[noreturn]] void die(const char *what) {
  std::perror(what);
  std::exit(1);
}

struct Client {
  int fd = -1;
  size_t received = 0;  // bytes of the current reply
  Clock::time_point sent;
};

void printLatencies(std::vector<long> &microseconds) {
  if (microseconds.empty()) return;
  std::sort(microseconds.begin(), microseconds.end());
  auto at = [&](double fraction) {
    return microseconds[std::min(
        microseconds.size() - 1,
        static_cast<size_t>(fraction * static_cast<double>(microseconds.size())))];
  };
  std::printf("p50_us %ld\np99_us %ld\nmax_us %ld\n", at(0.5), at(0.99), microseconds.back());
}

int connectTo(const sockaddr_in &address, bool nonblocking) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) die("socket");
  int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  if (::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0 &&
      errno != EINPROGRESS)
    die("connect");
  return fd;
}

// TCP or UDP ping-pong: every client keeps one SIZE-byte message in flight,
// or, with a think time, sends the next that long after each reply.
int pingpong(int port, int clients, size_t size, double seconds, bool udp,
             std::chrono::microseconds think = {}) {
  sockaddr_in address = target(port);
  int epoll = ::epoll_create1(0);
  std::vector<Client> all(static_cast<size_t>(clients));
  std::string message(size, 'w');
  for (auto &client : all) {
    if (udp) {
      client.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      ::connect(client.fd, reinterpret_cast<sockaddr *>(&address), sizeof address);
    } else {
      client.fd = connectTo(address, false);
    }
    epoll_event event{EPOLLIN, {.ptr = &client}};
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, client.fd, &event);
    client.sent = Clock::now();
    if (::send(client.fd, message.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size))
      die("send");
  }
  std::signal(SIGINT, [](int) { interrupted = 1; });  // before the bench may send it
  std::printf("connected %d\n", clients);
  std::fflush(stdout);
  std::vector<char> buffer(65536);
  epoll_event events[256];
  long long exchanges = 0;
  std::vector<long> latencies;
  latencies.reserve(1 << 20);
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  auto sendNext = [&](Client &client, Clock::time_point now) {
    client.sent = now;
    if (::send(client.fd, message.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size))
      die("send");
  };
  // Every client thinks as long, so the queue stays in order of time due.
  std::deque<std::pair<Clock::time_point, Client *>> thinking;
  while (Clock::now() < end && !interrupted) {
    int timeout = 100;
    if (!thinking.empty())
      timeout = static_cast<int>(std::clamp<int64_t>(
          std::chrono::ceil<std::chrono::milliseconds>(thinking.front().first - Clock::now())
              .count(),
          0, timeout));
    int ready = ::epoll_wait(epoll, events, 256, timeout);
    for (auto now = Clock::now(); !thinking.empty() && thinking.front().first <= now;
         thinking.pop_front())
      sendNext(*thinking.front().second, now);
    for (int i = 0; i < ready; ++i) {
      Client &client = *static_cast<Client *>(events[i].data.ptr);
      ssize_t got = ::recv(client.fd, buffer.data(), buffer.size(), 0);
      if (got <= 0) die("recv (server closed?)");
      if (buffer[0] != 'w') return std::fprintf(stderr, "wrong echo\n"), 1;
      client.received += static_cast<size_t>(got);
      if (client.received < size) continue;
      client.received = 0;
      ++exchanges;
      auto now = Clock::now();
      latencies.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(now - client.sent).count());
      if (think.count() > 0)
        thinking.emplace_back(now + think, &client);
      else
        sendNext(client, now);
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("ops_per_sec %.0f\n", static_cast<double>(exchanges) / elapsed);
  printLatencies(latencies);
  return 0;
}

// Connection rate: CONCURRENCY clients each connect, echo SIZE bytes, close, repeat.
int connrate(int port, int concurrency, size_t size, double seconds) {
  sockaddr_in address = target(port);
  int epoll = ::epoll_create1(0);
  std::vector<Client> all(static_cast<size_t>(concurrency));
  std::string message(size, 'c');
  auto begin = [&](Client &client) {
    client.fd = connectTo(address, true);
    client.received = 0;
    epoll_event event{EPOLLOUT, {.ptr = &client}};
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, client.fd, &event);
  };
  for (auto &client : all) begin(client);
  std::vector<char> buffer(65536);
  epoll_event events[256];
  long long completed = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    int ready = ::epoll_wait(epoll, events, 256, 100);
    for (int i = 0; i < ready; ++i) {
      Client &client = *static_cast<Client *>(events[i].data.ptr);
      if (events[i].events & EPOLLOUT) {  // connected
        if (::send(client.fd, message.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size))
          die("send");
        epoll_event event{EPOLLIN, {.ptr = &client}};
        ::epoll_ctl(epoll, EPOLL_CTL_MOD, client.fd, &event);
        continue;
      }
      ssize_t got = ::recv(client.fd, buffer.data(), buffer.size(), 0);
      if (got <= 0) die("recv");
      client.received += static_cast<size_t>(got);
      if (client.received < size) continue;
      ::close(client.fd);
      ++completed;
      begin(client);
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("ops_per_sec %.0f\n", static_cast<double>(completed) / elapsed);
  return 0;
}

long rssKb(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
  return -1;
}

// Opens CONNECTIONS connections, checks an echo on every 1000th, and reports
// the server's resident memory while all are held.
int idle(int port, int connections, int pid) {
  sockaddr_in address = target(port);
  std::vector<int> held;
  char reply[1];
  for (int i = 0; i < connections; ++i) {
    held.push_back(connectTo(address, false));
    if (i % 1000 == 0) {
      if (::send(held.back(), "i", 1, MSG_NOSIGNAL) != 1 || ::recv(held.back(), reply, 1, 0) != 1)
        die("echo on an idle connection");
    }
  }
  ::usleep(500000);  // let the server take the last ones
  std::printf("rss_kb %ld\nheld %zu\n", rssKb(pid), held.size());
  for (int fd : held) ::close(fd);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  if (argc < 5) return std::fprintf(stderr, "usage: see the top of loadgen.cpp\n"), 2;
  std::string test = argv[1];
  int port = std::atoi(argv[2]);
  int count = std::atoi(argv[3]);
  if (test == "idle") return idle(port, count, std::atoi(argv[4]));
  if (argc < 6) return 2;
  size_t size = std::strtoul(argv[4], nullptr, 10);
  double seconds = std::atof(argv[5]);
  if (test == "pingpong")
    return pingpong(port, count, size, seconds, false,
                    std::chrono::milliseconds(argc > 6 ? std::atoi(argv[6]) : 0));
  if (test == "udp") return pingpong(port, count, size, seconds, true);
  if (test == "connrate") return connrate(port, count, size, seconds);
  return 2;
}
