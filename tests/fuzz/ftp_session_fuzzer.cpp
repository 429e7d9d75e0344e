// libFuzzer: a whole FTP control session. The input is what a client sends on
// the control connection (commands, arguments, telnet bytes, over-long and
// invalid UTF-8 lines, then the end of input); a real FtpSession serves it on
// a loopback connection, over a folder of odd files reset before each run,
// with alice's read-write account. Data connections never come (data_timeout
// is 0, and PORT may only name the client, 192.0.2.1, which nothing answers),
// so every transfer command ends in its error reply. The session must end
// without a crash, a hang or a leak, and never touch a file outside the folder.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "AccountLockout.h"
#include "FtpSession.h"
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

struct Server {
  fs::path folder = fs::temp_directory_path() / ("wharf-ftp-fuzz-" + std::to_string(::getpid()));
  fs::path root = folder / "root";
  ftp::FtpOptions options;
  std::optional<ftp::Users> users;
  std::optional<ftp::Jail> jail;
  ftp::AccountLockout lockout{10, std::chrono::seconds(900)};
  std::optional<ftp::ServerContext> context;
  int listener = -1;
  sockaddr_in address{};

  Server() {
    fs::create_directories(root);
    // md5-crypt of "pw": cheap enough to log in on every run.
    std::ofstream(folder / "users") << "alice:$1$wharf$IrdlWh5Rp2VMk1fYeRMSb.:home/alice:rw\n";
    resetTree(root);
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
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0 ||
        ::listen(listener, 4) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr *>(&address), &length) != 0)
      throw std::runtime_error("cannot listen on loopback");
  }
};

Server &server() {
  // Lives for the process (a fuzzer exits, never returns); its folder goes at exit.
  static Server *instance = [] {
    auto *made = new Server();
    std::atexit([] { fs::remove_all(server().folder); });
    return made;
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Server &s = server();
  resetTree(s.root);
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(client, reinterpret_cast<sockaddr *>(&s.address), sizeof s.address) != 0) {
    std::perror("the fuzzer's own loopback connection");  // the harness's failure, not FTP's
    std::abort();
  }
  int control = ::accept4(s.listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (control < 0) std::abort();
  // Closed with a reset: a hundred thousand runs must not leave their ports in
  // TIME_WAIT (the loopback's ephemeral ports ran out after 120,000 runs).
  linger reset{1, 0};
  ::setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::setsockopt(control, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  // The client sends everything, then reads every reply until the server closes.
  std::thread peer([&] {
    for (size_t sent = 0; sent < size;) {
      ssize_t n = ::send(client, data + sent, size - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    ::shutdown(client, SHUT_WR);
    char sink[65536];
    while (::recv(client, sink, sizeof sink, 0) > 0) {
    }
  });
  sockaddr_storage clientAddress{};
  auto &v4 = reinterpret_cast<sockaddr_in &>(clientAddress);
  v4.sin_family = AF_INET;
  ::inet_pton(AF_INET, "192.0.2.1", &v4.sin_addr);
  {
    ftp::FtpSession session(
        *s.context, control, clientAddress, [](int) { return std::optional<sockaddr_storage>(); },
        [](int, const std::string &) {});
    session.run();
  }
  ::close(control);  // a reset (SO_LINGER 0): the peer's read ends
  peer.join();
  ::close(client);
  return 0;
}
