// libFuzzer: a whole FTP control session. The input is what a client sends on
// the control connection (commands, arguments, telnet bytes, over-long and
// invalid UTF-8 lines, then the end of input); a real FtpSession serves it
// over a socket pair, no network, and a folder of odd files in memory (on the
// tmpfs /dev/shm) reset before each run, with alice's read-write account.
// Data connections never come: the control connection is a unix socket, so
// passive mode is refused, and PORT may only name the client, 192.0.2.1,
// with data_timeout 0; every transfer command ends in its error reply. The
// session must end without a crash, a hang or a leak, and never touch a file
// outside the folder.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
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
  fs::path folder =
      (fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path()) /
      ("wharf-ftp-fuzz-" + std::to_string(::getpid()));
  fs::path root = folder / "root";
  ftp::FtpOptions options;
  std::optional<ftp::Users> users;
  std::optional<ftp::Jail> jail;
  ftp::AccountLockout lockout{10, std::chrono::seconds(900)};
  std::optional<ftp::ServerContext> context;

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
  }
};

// The client: one thread for the process that, for each run, sends the input,
// half-closes, and reads every reply until the server closes. A thread a run
// cost more than the session (ASan maps and unmaps each thread's stacks).
class Client {
 public:
  Client() {
    std::thread([this] { serve(); }).detach();
  }

  void start(int socket, const uint8_t *data, size_t size) {
    std::lock_guard lock(mutex_);
    job_ = Job{socket, data, size};
    changed_.notify_all();
  }

  void finish() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !job_; });
  }

 private:
  struct Job {
    int socket;
    const uint8_t *data;
    size_t size;
  };

  [[noreturn]] void serve() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return job_.has_value(); });
        job = *job_;
      }
      converse(job);
      std::lock_guard lock(mutex_);
      job_.reset();
      changed_.notify_all();
    }
  }

  static void converse(const Job &job) {
    for (size_t sent = 0; sent < job.size;) {
      ssize_t n = ::send(job.socket, job.data + sent, job.size - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    ::shutdown(job.socket, SHUT_WR);
    char sink[65536];
    while (::recv(job.socket, sink, sizeof sink, 0) > 0) {
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Job> job_;
};

Client &theClient() {
  static Client *instance = new Client();  // its thread runs until the process exits
  return *instance;
}

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
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    std::perror("the fuzzer's own socket pair");  // the harness's failure, not FTP's
    std::abort();
  }
  int client = pair[0], control = pair[1];
  Client &peer = theClient();
  peer.start(client, data, size);
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
  ::close(control);  // the peer's read ends
  peer.finish();
  ::close(client);
  return 0;
}
