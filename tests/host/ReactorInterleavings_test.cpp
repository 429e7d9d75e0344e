// A stateful property test of the reactor's lifetimes: a real reactor
// listener serving the `interleave` fixture (timers, an instance timer that
// posts to every session from its own thread, plugin closes, failing hooks,
// paused input, queued output) while clients connect, send commands, read a
// little, shut down and reset in random orders. Whatever the order, every
// session ends exactly once (the fixture's opened and closed counts and the
// host's agree) and, under ASan (CI's sanitized build), nothing touches a
// session after it was freed. Seeded: a failing seed replays the same ops.
#include <Poco/Logger.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "config/ConfigLoader.h"
#include "dispatch/DispatchMode.h"
#include "listener/Listener.h"
#include "net/ListenSocket.h"
#include "plugin/Plugin.h"

namespace {

using namespace std::chrono_literals;
using wharf::config::Config;

constexpr int kClients = 4;
constexpr int kOpsPerRun = 60;
constexpr int kRuns = 30;

class Folder {
 public:
  Folder() {
    char pattern[] = "/tmp/wharf-interleave-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~Folder() { std::filesystem::remove_all(path_); }
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

int64_t counter(const wharf::listener::Listener &listener, const std::string &name) {
  Poco::JSON::Object::Ptr metric = listener.metrics().report()->getObject(name);
  if (!metric) return -1;
  return metric->getObject("series")->getValue<int64_t>("");
}

class Client {
 public:
  bool connected() const { return fd_ >= 0; }

  void connect(const std::string &path) {
    if (connected()) return;
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, sizeof address.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) close();
  }
  void send(char command) {
    if (connected()) (void)!::send(fd_, &command, 1, MSG_NOSIGNAL);
  }
  void readSome() {
    char buffer[4096];
    if (connected()) (void)!::recv(fd_, buffer, sizeof buffer, 0);
  }
  void finish() {
    if (connected()) ::shutdown(fd_, SHUT_WR);
  }
  // Closes with a reset: the host sees an error, not an end of input.
  void reset() {
    if (!connected()) return;
    linger abort{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    close();
  }
  void close() {
    if (connected()) ::close(fd_);
    fd_ = -1;
  }
  ~Client() { close(); }

 private:
  int fd_ = -1;
};

TEST(ReactorInterleavings, EverySessionEndsExactlyOnceWhateverTheOrderOfItsEvents) {
  Poco::Logger::setLevel("", Poco::Message::PRIO_ERROR);  // failing hooks are the point here
  Folder folder;
  std::string socketPath = folder.path() + "/l.sock";
  wharf::config::ConfigLoader loader({folder.path(), wharf::dispatch::dispatchModeDescriptions()});
  std::string plugin = std::string(WHARF_TEST_PLUGIN_DIR) + "/interleave.so";
  Config config = loader.build(wharf::config::IniDocument::parse(
      folder.path() + "/wharf.ini", "[listener.i]\ntransport = unix\nlisten = " + socketPath +
                                        "\nmode = reactor\nplugin = " + plugin + "\n"));
  wharf::listener::Listener listener(config.listeners.at(0));
  listener.bind(std::make_shared<wharf::net::ListenSocket>(config.listeners[0].endpoint, 64));
  listener.load(wharf::plugin::Plugin::load(plugin));
  listener.start();

  const char commands[] = "ttrcxwz..";
  std::array<Client, kClients> clients;
  for (unsigned seed = 1; seed <= kRuns; ++seed) {
    std::mt19937 random(seed);
    for (int op = 0; op < kOpsPerRun; ++op) {
      Client &client = clients[random() % kClients];
      switch (random() % 8) {
        case 0:
        case 1:
          client.connect(socketPath);
          break;
        case 2:
        case 3:
          client.send(commands[random() % (sizeof commands - 1)]);
          break;
        case 4:
          client.readSome();
          break;
        case 5:
          client.finish();
          break;
        case 6:
          client.reset();
          break;
        default:
          std::this_thread::sleep_for(std::chrono::microseconds(random() % 2000));
      }
    }
    for (Client &client : clients) client.reset();
  }
  // Every session ends: ended by the plugin, by a failing hook, by the reset.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (listener.admission().active() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(listener.admission().active(), 0u);
  int64_t opened = counter(listener, "opened_total");
  EXPECT_GT(opened, kRuns);
  EXPECT_EQ(opened, counter(listener, "closed_total"));
  EXPECT_EQ(static_cast<uint64_t>(opened), listener.admission().total());
  listener.stopAccepting();
  listener.drain();
}

}  // namespace
