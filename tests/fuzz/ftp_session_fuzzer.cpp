// libFuzzer: a whole FTP control session. The input is what a client sends on
// the control connection (commands, arguments, telnet bytes, over-long and
// invalid UTF-8 lines, then the end of input); a real FtpSession serves it
// over a socket pair, no network, and a folder of odd files in memory (on the
// tmpfs /dev/shm) rebuilt after each run that changed it, with alice's
// read-write account.
// Data connections never come: the control connection is a unix socket, so
// passive mode is refused, and PORT may only name the client, 192.0.2.1,
// with data_timeout 0; every transfer command ends in its error reply. The
// session must end without a crash, a hang or a leak, and never touch a file
// outside the folder.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "AccountLockout.h"
#include "FtpSession.h"
#include "ScratchFolder.h"
#include "Users.h"

namespace {

namespace fs = std::filesystem;

// The served folder's contents: regular files, an empty and a nested folder,
// a symlink out of the jail, a FIFO (opening it for reading would block), and
// a file with a newline in its name.
void resetTree(const fs::path &root) {
  for (const auto &entry : fs::directory_iterator(root)) fs::remove_all(entry.path());
  fs::create_directories(root / "pub" / "empty");
  fs::create_directories(root / "home" / "alice" / "deep" / "er");
  std::ofstream(root / "pub" / "readme.txt") << "hello\n";
  std::ofstream(root / "home" / "alice" / "notes.txt") << "alice's\n";
  std::ofstream(root / "home" / "alice" / "line\nbreak") << "odd name\n";
  fs::create_symlink("/etc", root / "pub" / "etc");
  ::mkfifo((root / "home" / "alice" / "fifo").c_str(), 0644);
}

// Tells whether anything in the served folder changed since the last look:
// every folder of it is watched. Most runs change nothing (no data connection
// ever comes), and rebuilding the folder anyway took ~100 system calls a run,
// more than the session itself.
class TreeWatch {
 public:
  TreeWatch() : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (fd_ < 0) {
      std::perror("the fuzzer's own inotify");
      std::abort();
    }
  }

  // Watches root and every folder under it, and forgets earlier changes.
  void watchAll(const fs::path &root) {
    watch(root);
    for (const auto &entry : fs::recursive_directory_iterator(root))
      if (entry.is_directory() && !entry.is_symlink()) watch(entry.path());
    changed();
  }

  bool changed() {
    bool any = false;
    char events[4096];
    while (::read(fd_, events, sizeof events) > 0) any = true;
    return any;
  }

 private:
  void watch(const fs::path &folder) {
    constexpr uint32_t kChanges = IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                                  IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW;
    if (::inotify_add_watch(fd_, folder.c_str(), kChanges) < 0) {
      std::perror(folder.c_str());
      std::abort();
    }
  }

  int fd_;
};

struct Server {
  fs::path folder = fuzz::scratchFolder("ftp");
  fs::path root = folder / "root";
  ftp::FtpOptions options;
  std::optional<ftp::Users> users;
  std::optional<ftp::Jail> jail;
  ftp::AccountLockout lockout{10, std::chrono::seconds(900)};
  std::optional<ftp::ServerContext> context;
  TreeWatch treeWatch;

  Server() {
    fs::create_directories(root);
    // md5-crypt of "pw": cheap enough to log in on every run.
    std::ofstream(folder / "users") << "alice:$1$wharf$IrdlWh5Rp2VMk1fYeRMSb.:home/alice:rw\n";
    resetTree(root);
    treeWatch.watchAll(root);
    options.root = root;
    options.anonymous = ftp::Anonymous::Read;
    options.usersFile = folder / "users";
    options.dataTimeout = std::chrono::seconds(0);
    options.idleTimeout = std::chrono::seconds(5);
    options.loginFailureDelay = std::chrono::milliseconds(0);
    options.maxAccountFailures = 0;
    users.emplace(ftp::Users::load(options.usersFile));
    jail.emplace(options.root);
    context.emplace(ftp::ServerContext{options, *users, *jail, nullptr, lockout});
  }
};

// Room in the socket pair for the whole input and every reply to it, so that
// one thread writes the input ahead and runs the session; the replies are
// never read (nothing checks them). A client thread woken on every reply cost
// a third of a run. The room is raised by SO_SNDBUFFORCE, which needs
// CAP_NET_ADMIN (root); without it, SO_SNDBUF's cap (wmem_max) held 5,000
// one-line replies here, and an input with more replies than room stalls:
// its session ends after the idle timeout, slower, never wrong.
void makeRoom(int socket) {
  constexpr int kRoom = 256 << 20;
  if (::setsockopt(socket, SOL_SOCKET, SO_SNDBUFFORCE, &kRoom, sizeof kRoom) == 0) return;
  static bool told = false;
  if (!told)
    std::fprintf(stderr,
                 "ftp_session_fuzzer: no SO_SNDBUFFORCE (not root?); long inputs will be slow\n");
  told = true;
  ::setsockopt(socket, SOL_SOCKET, SO_SNDBUF, &kRoom, sizeof kRoom);  // capped at wmem_max
}

// An input longer than the room is cut there (only without SO_SNDBUFFORCE,
// and far past libFuzzer's default -max_len).
void sendAll(int socket, const uint8_t *data, size_t size) {
  for (size_t sent = 0; sent < size;) {
    ssize_t n = ::send(socket, data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  ::shutdown(socket, SHUT_WR);
}

Server &server() {
  static Server *instance = new Server();  // lives for the process: a fuzzer exits, never returns
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Server &s = server();
  if (s.treeWatch.changed()) {
    resetTree(s.root);
    s.treeWatch.watchAll(s.root);
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    std::perror("the fuzzer's own socket pair");  // the harness's failure, not FTP's
    std::abort();
  }
  int client = pair[0], control = pair[1];
  makeRoom(client);
  makeRoom(control);
  sendAll(client, data, size);
  sockaddr_storage clientAddress{};
  auto &v4 = reinterpret_cast<sockaddr_in &>(clientAddress);
  v4.sin_family = AF_INET;
  ::inet_pton(AF_INET, "192.0.2.1", &v4.sin_addr);
  {
    ftp::FtpSession session(
        *s.context, control, clientAddress, [](int) { return std::optional<sockaddr_storage>(); },
        [](int, const std::string &) {}, [](uint64_t, uint64_t) {});
    session.run();
  }
  ::close(control);
  ::close(client);  // with the replies unread: nothing checks them
  return 0;
}
