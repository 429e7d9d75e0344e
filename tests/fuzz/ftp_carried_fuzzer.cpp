// libFuzzer: the state an FTP session carries to newer plugin code at a
// reload (CarriedSession, live migration), as hostile bytes. A state the
// newer code takes must encode back to the very same bytes, and the session
// restored from it (its account looked up, its folder opened) is served on
// over a socket pair for a few read-only commands after whatever unread
// input it carried (its replies read by a thread, so that none stalls): it
// must end without a crash, a hang or a leak. The accounts are read-only, so
// no input changes the served folder.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "AccountLockout.h"
#include "CarriedSession.h"
#include "FtpSession.h"
#include "ScratchFolder.h"
#include "Users.h"

namespace {

namespace fs = std::filesystem;

struct Server {
  fs::path folder = fuzz::scratchFolder("ftp-carried");
  fs::path root = folder / "root";
  ftp::FtpOptions options;
  std::optional<ftp::Users> users;
  std::optional<ftp::Jail> jail;
  ftp::AccountLockout lockout{0, std::chrono::seconds(1)};
  std::optional<ftp::ServerContext> context;

  Server() {
    fs::create_directories(root / "pub" / "docs");
    fs::create_directories(root / "home" / "bob");
    std::ofstream(root / "pub" / "readme.txt") << "hello\n";
    // md5-crypt of "pw"; carol's home does not exist.
    std::ofstream(folder / "users") << "bob:$1$wharf$IrdlWh5Rp2VMk1fYeRMSb.:home/bob:ro\n"
                                       "carol:$1$wharf$IrdlWh5Rp2VMk1fYeRMSb.:home/carol:ro\n";
    options.root = root;
    options.anonymous = ftp::Anonymous::Read;
    options.usersFile = folder / "users";
    options.dataTimeout = std::chrono::seconds(0);
    options.idleTimeout = std::chrono::seconds(5);
    options.loginFailureDelay = std::chrono::milliseconds(0);
    users.emplace(ftp::Users::load(options.usersFile));
    jail.emplace(options.root);
    context.emplace(ftp::ServerContext{options, *users, *jail, nullptr, lockout});
  }
};

Server &server() {
  static Server *instance = new Server();  // lives for the process: a fuzzer exits, never returns
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Server &s = server();
  std::optional<ftp::CarriedSession> state = ftp::CarriedSession::decode({data, size});
  if (!state) return 0;
  if (state->encode() != std::string(reinterpret_cast<const char *>(data), size)) {
    std::fprintf(stderr, "a state taken does not encode back to its bytes\n");
    std::abort();
  }
  std::string why;
  auto restored = ftp::FtpSession::restore(*s.context, std::move(*state), why);
  if (!restored) return 0;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    std::perror("the fuzzer's own socket pair");  // the harness's failure, not FTP's
    std::abort();
  }
  int client = pair[0], control = pair[1];
  const std::string commands = "\r\nPWD\r\nSTAT\r\nMLST readme.txt\r\nLIST\r\nPASS pw\r\nQUIT\r\n";
  ::send(client, commands.data(), commands.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(client, SHUT_WR);
  std::thread replies([client] {
    char buffer[65536];
    while (::recv(client, buffer, sizeof buffer, 0) > 0) {
    }
  });
  sockaddr_storage clientAddress{};
  auto &v4 = reinterpret_cast<sockaddr_in &>(clientAddress);
  v4.sin_family = AF_INET;
  ::inet_pton(AF_INET, "192.0.2.1", &v4.sin_addr);
  {
    ftp::FtpSession session(
        *s.context, control, clientAddress, [](int) { return std::optional<sockaddr_storage>(); },
        [](int, const std::string &) {}, [](uint64_t, uint64_t) {}, {}, std::move(*restored));
    session.run();
  }
  ::shutdown(control, SHUT_RDWR);
  replies.join();
  ::close(control);
  ::close(client);
  return 0;
}
