// FTP sessions moving to newer code (live migration, SDK 1.6), served in this
// process over loopback TCP: a session between commands offers its state
// when the handover descriptor rings, and a session restored from that state
// in another listener's code (its own users, jail and options: the newer
// plugin's) goes on where it was. What is not quiescent is never offered.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "FtpSession.h"
#include "TlsContext.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ftp::CarriedSession;
using ftp::FtpSession;
using ftp::RestoredSession;

const std::string kPwHash = "$1$wharf$IrdlWh5Rp2VMk1fYeRMSb.";  // md5-crypt of "pw"
constexpr auto kBound = 10s;                                    // for events, never a measured time

sockaddr_storage loopback(uint16_t port = 0) {
  sockaddr_storage address{};
  auto &v4 = reinterpret_cast<sockaddr_in &>(address);
  v4.sin_family = AF_INET;
  v4.sin_port = htons(port);
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

uint16_t portOf(int socket) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(socket, reinterpret_cast<sockaddr *>(&address), &length);
  return ntohs(address.sin_port);
}

int listening() {
  int socket = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage address = loopback();
  EXPECT_EQ(::bind(socket, reinterpret_cast<sockaddr *>(&address), sizeof(sockaddr_in)), 0);
  EXPECT_EQ(::listen(socket, 4), 0);
  return socket;
}

int connectTo(uint16_t port) {
  int socket = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage address = loopback(port);
  EXPECT_EQ(::connect(socket, reinterpret_cast<sockaddr *>(&address), sizeof(sockaddr_in)), 0);
  timeval limit{std::chrono::seconds(kBound).count(), 0};
  ::setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  return socket;
}

// A tree served to alice (rw, home/alice) and bob (ro), and what one release
// of the plugin makes of it for a listener: options, accounts, root.
class Site {
 public:
  Site() {
    char name[] = "/tmp/wharf-ftp-handover-XXXXXX";
    folder_ = ::mkdtemp(name);
    fs::create_directories(root() / "home" / "alice" / "docs");
    fs::create_directories(root() / "pub");
    std::ofstream(root() / "home" / "alice" / "docs" / "notes.txt") << "0123456789";
    writeUsers("alice:" + kPwHash + ":home/alice:rw\nbob:" + kPwHash + ":pub:ro\n");
  }
  ~Site() { fs::remove_all(folder_); }

  fs::path root() const { return folder_ / "root"; }
  fs::path usersFile() const { return folder_ / "users"; }
  void writeUsers(const std::string &text) const { std::ofstream(usersFile()) << text; }
  // The options of FTPS in `mode`, with a self-signed certificate and its
  // key, made once per test that wants TLS.
  std::function<void(ftp::FtpOptions &)> withTls(ftp::TlsMode mode) const {
    std::string cert = folder_ / "cert.pem", key = folder_ / "key.pem";
    std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " +
                          cert + " -days 2 -subj /CN=localhost 2>/dev/null";
    EXPECT_EQ(std::system(command.c_str()), 0);
    return [mode, cert, key](ftp::FtpOptions &options) {
      options.tls = mode;
      options.tlsCert = cert;
      options.tlsKey = key;
    };
  }

 private:
  fs::path folder_;
};

struct Code {
  explicit Code(const Site &site, std::function<void(ftp::FtpOptions &)> change = {})
      : options(optionsFor(site, change)),
        users(ftp::Users::load(options.usersFile)),
        root(options.root),
        tls(options.tls == ftp::TlsMode::Off
                ? nullptr
                : std::make_unique<ftp::TlsContext>(options.tlsCert, options.tlsKey, false)),
        context{options, users, root, tls.get(), lockout} {}

  static ftp::FtpOptions optionsFor(const Site &site,
                                    const std::function<void(ftp::FtpOptions &)> &change) {
    ftp::FtpOptions options;
    options.root = site.root();
    options.usersFile = site.usersFile();
    options.anonymous = ftp::Anonymous::Read;
    options.loginFailureDelay = 0ms;
    if (change) change(options);
    return options;
  }

  ftp::FtpOptions options;
  ftp::Users users;
  ftp::Jail root;
  std::unique_ptr<ftp::TlsContext> tls;
  ftp::AccountLockout lockout{0, std::chrono::seconds(1)};
  ftp::ServerContext context;
};

// The client's end of the control connection, in the clear or (after
// startTls) over TLS.
class Client {
 public:
  explicit Client(int fd) : fd_(fd) {}
  ~Client() {
    if (tls_) SSL_free(tls_);
    if (context_) SSL_CTX_free(context_);
    ::close(fd_);
  }

  void send(const std::string &bytes) {
    if (tls_)
      ASSERT_EQ(SSL_write(tls_, bytes.data(), static_cast<int>(bytes.size())),
                static_cast<int>(bytes.size()));
    else
      ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(bytes.size()));
  }
  // One whole reply, its lines joined by "\n"; "" if none came (the end, or kBound).
  std::string reply() {
    std::string text;
    for (;;) {
      size_t end;
      while ((end = buffer_.find("\r\n")) == std::string::npos) {
        char chunk[4096];
        int got = tls_ ? SSL_read(tls_, chunk, sizeof chunk)
                       : static_cast<int>(::recv(fd_, chunk, sizeof chunk, 0));
        if (got <= 0) return text;
        buffer_.append(chunk, static_cast<size_t>(got));
      }
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      text += (text.empty() ? "" : "\n") + line;
      if (line.size() >= 4 && std::isdigit(static_cast<unsigned char>(line[0])) && line[3] == ' ')
        return text;
    }
  }
  std::string ask(const std::string &line) {
    send(line + "\r\n");
    return reply();
  }
  void startTls() {
    context_ = SSL_CTX_new(TLS_client_method());
    tls_ = SSL_new(context_);
    SSL_set_fd(tls_, fd_);
    ASSERT_EQ(SSL_connect(tls_), 1);
  }
  void login(const std::string &user) {
    ASSERT_EQ(ask("USER " + user).substr(0, 3), "331");
    ASSERT_EQ(ask("PASS pw").substr(0, 3), "230");
  }

 private:
  int fd_;
  std::string buffer_;
  SSL_CTX *context_ = nullptr;
  SSL *tls_ = nullptr;
};

// One session served on a thread of its own, with a handover descriptor the
// test rings and an offer it answers (`takes`: as newer code that took it).
class Served {
 public:
  Served(const Code &code, int control, std::optional<RestoredSession> restored = {})
      : control_(control), ring_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    std::promise<void> ended;
    ended_ = ended.get_future();
    thread_ = std::thread([this, &code, control, restored = std::move(restored),
                           ended = std::move(ended)]() mutable {
      FtpSession(
          code.context, control, loopback(),
          [](int fd) {
            sockaddr_storage peer{};
            socklen_t length = sizeof peer;
            ::getpeername(fd, reinterpret_cast<sockaddr *>(&peer), &length);
            return std::optional(peer);
          },
          [](int, const std::string &) {}, [](uint64_t, uint64_t) {},
          {ring_, [this](const std::string &state) { return offered(state); }}, std::move(restored))
          .run();
      ended.set_value();
    });
  }
  ~Served() {
    if (!ended()) ::shutdown(control_, SHUT_RDWR);  // a test that failed: end the session
    thread_.join();
    ::close(ring_);
  }

  void ring() {
    uint64_t one = 1;
    ASSERT_EQ(::write(ring_, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  }
  bool ended() { return ended_.wait_for(kBound) == std::future_status::ready; }
  int offers() const { return offers_; }
  // Waits (up to kBound) until `count` offers were made.
  bool awaitOffers(int count) {
    auto deadline = std::chrono::steady_clock::now() + kBound;
    while (offers_ < count && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    return offers_ >= count;
  }
  // The last state offered, decoded as newer code would.
  std::optional<CarriedSession> state() const {
    return CarriedSession::decode(
        {reinterpret_cast<const uint8_t *>(state_.data()), state_.size()});
  }
  std::atomic<bool> takes{true};

 private:
  bool offered(const std::string &state) {
    state_ = state;
    uint64_t rung;
    EXPECT_EQ(::read(ring_, &rung, sizeof rung), static_cast<ssize_t>(sizeof rung));
    ++offers_;
    return takes;
  }

  int control_;
  int ring_;
  std::atomic<int> offers_{0};
  std::string state_;
  std::future<void> ended_;
  std::thread thread_;
};

class FtpHandover : public ::testing::Test {
 protected:
  void SetUp() override {
    int listener = listening();
    client_ = std::make_unique<Client>(connectTo(portOf(listener)));
    control_ = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(listener);
    ASSERT_GE(control_, 0);
  }
  void TearDown() override {
    client_.reset();
    ::close(control_);
  }

  // Rings `old`, and serves the session it offers on `code` (newer code).
  std::unique_ptr<Served> moved(Served &old, const Code &code) {
    old.ring();
    EXPECT_TRUE(old.ended()) << "the older code did not let the session go";
    EXPECT_EQ(old.offers(), 1);
    auto state = old.state();
    EXPECT_TRUE(state.has_value());
    if (!state) return nullptr;
    std::string why;
    auto restored = FtpSession::restore(code.context, std::move(*state), why);
    EXPECT_TRUE(restored.has_value()) << why;
    if (!restored) return nullptr;
    return std::make_unique<Served>(code, control_, std::move(*restored));
  }

  Client &client() { return *client_; }

  Site site_;
  std::unique_ptr<Client> client_;
  int control_ = -1;
};

// The data port of a 227 reply "(h1,h2,h3,h4,p1,p2)".
uint16_t passivePort(const std::string &reply) {
  size_t open = reply.find('('), close = reply.find(')');
  std::string numbers = reply.substr(open + 1, close - open - 1);
  size_t fifth = 0;
  for (int i = 0; i < 4; ++i) fifth = numbers.find(',', fifth) + 1;
  size_t sixth = numbers.find(',', fifth) + 1;
  return static_cast<uint16_t>(std::stoi(numbers.substr(fifth)) * 256 +
                               std::stoi(numbers.substr(sixth)));
}

std::string readAll(int socket) {
  std::string data;
  char chunk[4096];
  for (ssize_t got; (got = ::recv(socket, chunk, sizeof chunk, 0)) > 0;)
    data.append(chunk, static_cast<size_t>(got));
  return data;
}

}  // namespace

TEST_F(FtpHandover, TheLoginFolderAndParametersGoOnInTheNewerCode) {
  Code older(site_), newer(site_);
  Served old(older, control_);
  ASSERT_EQ(client().reply().substr(0, 3), "220");
  client().login("alice");
  ASSERT_EQ(client().ask("CWD docs").substr(0, 3), "250");
  ASSERT_EQ(client().ask("OPTS MLST type;size;").substr(0, 3), "200");
  ASSERT_EQ(client().ask("EPSV ALL").substr(0, 3), "200");
  // One segment: the older code answers REST and holds half a NOOP and a Telnet IAC.
  client().send("REST 3\r\nNO\xff");
  ASSERT_EQ(client().reply().substr(0, 3), "350");
  auto now = moved(old, newer);
  ASSERT_TRUE(now);
  auto state = old.state();
  EXPECT_EQ(state->restart, 3u);
  EXPECT_EQ(state->unread.input, "NO");
  EXPECT_EQ(state->unread.telnet, ftp::TelnetFilter::State::Command);
  // No greeting: the first reply is the NOOP's, IAC IP taken out.
  client().send("\xf4OP\r\n");
  EXPECT_EQ(client().reply(), "200 NOOP ok.");
  EXPECT_EQ(client().ask("PWD"), "257 \"/docs\" is the current folder.");
  std::string status = client().ask("STAT");
  EXPECT_NE(status.find("Logged in as alice"), std::string::npos) << status;
  std::string facts = client().ask("MLST notes.txt");
  EXPECT_NE(facts.find(" type=file;size=10; /docs/notes.txt"), std::string::npos) << facts;
  EXPECT_EQ(client().ask("PASV").substr(0, 3), "501");     // EPSV ALL still holds
  EXPECT_EQ(client().ask("MKD new").substr(0, 3), "257");  // alice's account: read-write
  EXPECT_TRUE(fs::is_directory(site_.root() / "home" / "alice" / "docs" / "new"));
  EXPECT_EQ(client().ask("QUIT").substr(0, 3), "221");
  EXPECT_TRUE(now->ended());
}

TEST_F(FtpHandover, APendingRenameAndTheTypeMove) {
  Code older(site_), newer(site_);
  Served old(older, control_);
  client().reply();
  client().login("alice");
  ASSERT_EQ(client().ask("TYPE A").substr(0, 3), "200");
  ASSERT_EQ(client().ask("RNFR docs/notes.txt").substr(0, 3), "350");
  auto now = moved(old, newer);
  ASSERT_TRUE(now);
  EXPECT_EQ(client().ask("RNTO docs/renamed.txt").substr(0, 3), "250");
  EXPECT_TRUE(fs::exists(site_.root() / "home" / "alice" / "docs" / "renamed.txt"));
  std::string status = client().ask("STAT");
  EXPECT_NE(status.find("TYPE: ASCII"), std::string::npos) << status;
  client().ask("QUIT");
}

TEST_F(FtpHandover, APendingUserAndTheFailedLoginsMove) {
  Code older(site_), newer(site_);
  Served old(older, control_);
  client().reply();
  for (const char *wrong : {"x", "y"}) {
    ASSERT_EQ(client().ask("USER bob").substr(0, 3), "331");
    ASSERT_EQ(client().ask(std::string("PASS ") + wrong).substr(0, 3), "530");
  }
  ASSERT_EQ(client().ask("USER bob").substr(0, 3), "331");
  auto now = moved(old, newer);
  ASSERT_TRUE(now);
  // The third failure (max_login_failures = 3) of a USER the older code took.
  EXPECT_EQ(client().ask("PASS z"), "421 Too many failed logins. Goodbye.");
  EXPECT_TRUE(now->ended());
}

TEST_F(FtpHandover, ARefusedOfferLeavesTheSessionServedWhereItIs) {
  Code code(site_);
  Served old(code, control_);
  client().reply();
  client().login("bob");
  old.takes = false;
  old.ring();
  ASSERT_TRUE(old.awaitOffers(1));
  EXPECT_EQ(client().ask("PWD"), "257 \"/\" is the current folder.");
  old.ring();  // asked again: offered again
  ASSERT_TRUE(old.awaitOffers(2));
  EXPECT_EQ(client().ask("QUIT").substr(0, 3), "221");
  EXPECT_TRUE(old.ended());
}

TEST_F(FtpHandover, APassivePortKeepsTheSessionUntilItsTransferIsDone) {
  Code older(site_), newer(site_);
  Served old(older, control_);
  client().reply();
  client().login("alice");
  std::string passive = client().ask("PASV");
  ASSERT_EQ(passive.substr(0, 3), "227");
  old.ring();
  EXPECT_EQ(client().ask("NOOP").substr(0, 3), "200");
  EXPECT_EQ(old.offers(), 0) << "offered with a passive port open";
  int data = connectTo(passivePort(passive));
  ASSERT_EQ(client().ask("RETR docs/notes.txt").substr(0, 3), "150");
  EXPECT_EQ(readAll(data), "0123456789");
  ::close(data);
  EXPECT_EQ(client().reply().substr(0, 3), "226");
  auto now = moved(old, newer);  // rung already: offered once the transfer was over
  ASSERT_TRUE(now);
  EXPECT_EQ(client().ask("NOOP").substr(0, 3), "200");
  client().ask("QUIT");
}

TEST_F(FtpHandover, AnActiveTargetKeepsTheSessionUntilItsTransferIsDone) {
  Code older(site_), newer(site_);
  Served old(older, control_);
  client().reply();
  client().login("alice");
  int listener = listening();
  uint16_t port = portOf(listener);
  ASSERT_EQ(
      client()
          .ask("PORT 127,0,0,1," + std::to_string(port >> 8) + "," + std::to_string(port & 0xFF))
          .substr(0, 3),
      "200");
  old.ring();
  EXPECT_EQ(client().ask("NOOP").substr(0, 3), "200");
  EXPECT_EQ(old.offers(), 0) << "offered with a PORT target set";
  ASSERT_EQ(client().ask("RETR docs/notes.txt").substr(0, 3), "150");
  int data = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(listener);
  EXPECT_EQ(readAll(data), "0123456789");
  ::close(data);
  EXPECT_EQ(client().reply().substr(0, 3), "226");
  auto now = moved(old, newer);
  ASSERT_TRUE(now);
  client().ask("QUIT");
}

TEST_F(FtpHandover, ATlsSessionIsNeverOffered) {
  Code code(site_, site_.withTls(ftp::TlsMode::Allow));
  Served old(code, control_);
  client().reply();
  ASSERT_EQ(client().ask("AUTH TLS").substr(0, 3), "234");
  client().startTls();
  client().login("alice");
  old.ring();
  EXPECT_EQ(client().ask("NOOP").substr(0, 3), "200");
  EXPECT_EQ(client().ask("PWD").substr(0, 3), "257");
  EXPECT_EQ(client().ask("QUIT").substr(0, 3), "221");
  EXPECT_TRUE(old.ended());
  EXPECT_EQ(old.offers(), 0);
}

class FtpRestore : public ::testing::Test {
 protected:
  static CarriedSession aliceIn(const std::string &folder) {
    CarriedSession state;
    state.login = CarriedSession::Login::Account;
    state.account = "alice";
    state.cwd = folder;
    return state;
  }
  std::string refusal(const Code &code, CarriedSession state) {
    std::string why;
    EXPECT_FALSE(FtpSession::restore(code.context, std::move(state), why).has_value());
    return why;
  }

  Site site_;
};

TEST_F(FtpRestore, AnAccountOfTheNewerUsersTableIsTakenWithItsHome) {
  Code code(site_);
  std::string why;
  auto restored = FtpSession::restore(code.context, aliceIn("/docs"), why);
  ASSERT_TRUE(restored.has_value()) << why;
  EXPECT_EQ(restored->account->name, "alice");
  EXPECT_TRUE(restored->account->writable);
  struct stat status {};
  EXPECT_TRUE(restored->jail.stat("/docs/notes.txt", status));
}

TEST_F(FtpRestore, AnAccountGoneFromTheUsersTableIsRefused) {
  site_.writeUsers("bob:" + kPwHash + ":pub:ro\n");
  Code code(site_);
  EXPECT_EQ(refusal(code, aliceIn("/")), "the account alice is no longer in option.users");
}

TEST_F(FtpRestore, AnonymousIsRefusedOnceAnonymousLoginsAreOff) {
  Code code(site_, [](ftp::FtpOptions &options) { options.anonymous = ftp::Anonymous::Off; });
  CarriedSession state;
  state.login = CarriedSession::Login::Anonymous;
  EXPECT_EQ(refusal(code, state), "anonymous logins are off");
}

TEST_F(FtpRestore, AFolderThatIsGoneIsRefused) {
  Code code(site_);
  EXPECT_NE(refusal(code, aliceIn("/gone")).find("folder /gone"), std::string::npos);
  // A home that is gone too.
  fs::remove_all(site_.root() / "home" / "alice");
  EXPECT_NE(refusal(code, aliceIn("/")).find("user alice"), std::string::npos);
}

TEST_F(FtpRestore, ASessionInTheClearIsRefusedWhereTlsIsRequired) {
  Code code(site_, site_.withTls(ftp::TlsMode::Require));
  EXPECT_EQ(refusal(code, aliceIn("/")), "tls = require, and the session is in the clear");
  CarriedSession pending;
  pending.pendingUser = "alice";
  EXPECT_FALSE(refusal(code, pending).empty());
  std::string why;
  EXPECT_TRUE(FtpSession::restore(code.context, CarriedSession(), why).has_value())
      << "no login, nothing pending: it may still AUTH TLS";
}

TEST_F(FtpRestore, ProtectionWithoutTlsIsRefused) {
  Code code(site_);
  CarriedSession state = aliceIn("/");
  state.pbszGiven = true;
  EXPECT_EQ(refusal(code, state), "PBSZ or PROT without TLS");
}
