#include "session/StreamSession.h"

#include <Poco/Message.h>
#include <linux/tcp.h>  // tcp_info with byte counts (glibc's lacks them)
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

#include "net/SendProgress.h"

namespace wharf::session {
namespace {

// TCP states as tcp_info's tcpi_state has them (the kernel's net/tcp_states.h;
// glibc's netinet/tcp.h, which names them too, clashes with linux/tcp.h).
constexpr uint8_t kFinWait2 = 5, kClose = 7, kCloseWait = 8, kLastAck = 9, kClosing = 11;

constexpr size_t kMinProgress = 64;  // bytes either way per idle_timeout window
constexpr char kDripping[] = "fewer than 64 bytes either way within idle_timeout";

}  // namespace

StreamSession::StreamSession(plugin::PluginInstance &instance, net::FileDescriptor connection,
                             const net::SocketAddress &peer, Style style, const Ledger &ledger)
    : Session(instance, peer, ledger), connection_(std::move(connection)), style_(style) {}

// A plugin that had the socket (FTP's control connection) read and wrote past
// the host; on TCP the kernel counted every byte.
StreamSession::~StreamSession() {
  if (tls_) tls_->close();
  if (!socketLent_) return;
  ::tcp_info info{};
  socklen_t length = sizeof info;
  if (::getsockopt(connection_.fd(), IPPROTO_TCP, TCP_INFO, &info, &length) != 0 ||
      length < offsetof(tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
    return;
  // The kernel counts a FIN as a byte of its side's total: the peer's once it came, ours
  // once acknowledged. A socket still held is never in TIME_WAIT: past both FINs it is
  // CLOSE, as after a reset, which a clean end of input tells apart.
  uint8_t state = info.tcpi_state;
  char peeked;
  bool closedCleanly =
      state == kClose && ::recv(connection_.fd(), &peeked, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  bool finReceived = state == kCloseWait || state == kLastAck || state == kClosing || closedCleanly;
  bool finAcked = state == kFinWait2 || closedCleanly;
  setSocketBytes(info.tcpi_bytes_received - (finReceived && info.tcpi_bytes_received > 0),
                 info.tcpi_bytes_acked - (finAcked && info.tcpi_bytes_acked > 0));
}

bool StreamSession::startTls(std::shared_ptr<const tls::ServerContext> context) {
  tls_ = std::make_unique<tls::TlsStream>(std::move(context), connection_.fd());
  if (tls_->handshakeWithin() == tls::TlsStream::Handshake::Done) {
    noteTlsHandshake(tls_->version(), tls_->resumed());
    return true;
  }
  noteTlsFailure(tls_->failureKind(), tls_->failure());
  return false;
}

int StreamSession::socket() const {
  if (style_ != Style::Blocking || tls_ || frozen()) return -1;
  socketLent_ = true;
  return connection_.fd();
}

wharf_status StreamSession::write(const void *data, size_t len) {
  if (frozen()) return WHARF_ENDED;  // handed over: the newer code has it
  if (closeRequested()) return WHARF_CLOSED;
  // An import's writes wait until the session is the newer code's: refused,
  // or unanswered across workers, the client must not have heard them.
  if (style_ == Style::Event || importing()) {
    if (importing() && output_.size() + len > kMaxImportOutput) return WHARF_BUFFER_TOO_SMALL;
    output_.append(static_cast<const char *>(data), len);
    return WHARF_OK;
  }
  return sendAll(static_cast<const char *>(data), len) ? WHARF_OK : WHARF_CLOSED;
}

wharf_status StreamSession::read(void *buffer, size_t capacity, size_t *received) {
  if (style_ != Style::Blocking) return WHARF_UNSUPPORTED;
  if (frozen()) return WHARF_ENDED;
  ssize_t got = receive(buffer, capacity);
  *received = got > 0 ? static_cast<size_t>(got) : 0;
  // A plugin built for 1.2 or later learns that the host ended it.
  if (got <= 0 && instance().hooks().header.abi_minor >= 2 && endedByHost()) return WHARF_ENDED;
  return got >= 0 ? WHARF_OK : WHARF_CLOSED;
}

int StreamSession::handoverFd() {
  return style_ == Style::Blocking && carrier_ != nullptr && !frozen() ? bell_.fd() : -1;
}

wharf_status StreamSession::handOver(std::span<const uint8_t> state) {
  if (std::this_thread::get_id() != servingThread_) return WHARF_INVALID;
  // Not from inside a hand-over (an import handing over again would recurse).
  if (style_ != Style::Blocking || carrier_ == nullptr || handingOver()) return WHARF_UNSUPPORTED;
  auto since = std::chrono::steady_clock::now();
  bell_.silence();  // asked once per reload: refused, it stays
  if (std::optional<bool> away = carrier_->sendAway(*this, state)) {
    if (!*away) return WHARF_UNSUPPORTED;
    setHandover(Handover::Leaving);  // the other worker serves it: it ends here unwritten
    handOff();
    return WHARF_OK;
  }
  std::optional<SessionCarrier::Destination> destination = carrier_->destination(*this);
  if (!destination) return WHARF_UNSUPPORTED;
  const wharf_plugin &next = destination->instance->hooks();
  if (next.session_import == nullptr || next.resume == nullptr) {
    carrier_->decided(*this, destination->generation, Migration::NotCarried);
    return WHARF_UNSUPPORTED;
  }
  plugin::PluginInstance &from = instance();
  uint64_t fromGeneration = generation();
  moveTo(*destination->instance, destination->generation);
  void *imported = nullptr;
  bool taken = importState(from.plugin().version(), state, imported);
  moveTo(from, fromGeneration);
  if (!taken) {
    withdrawClose();
    output_.clear();  // what the import wrote
    carrier_->decided(*this, destination->generation, Migration::ImportRefused);
    return WHARF_UNSUPPORTED;
  }
  carrier_->decided(*this, destination->generation, Migration::Moved);
  setHandover(Handover::Leaving);  // the old code returns from serve() now
  carried_ = Carried{std::move(*destination), imported, since};
  return WHARF_OK;
}

std::optional<StreamSession::Carried> StreamSession::takeCarried() {
  return std::exchange(carried_, std::nullopt);
}

void StreamSession::settle(const Carried &carried) {
  moveTo(*carried.destination.instance, carried.destination.generation);
  setHandover(Handover::None);
  flush();  // what the import wrote (a peer gone shows in resume's first read)
  carrier_->moved(*this, carried.destination.generation,
                  std::chrono::steady_clock::now() - carried.since);
}

wharf_status StreamSession::pauseInput(bool paused) {
  if (style_ != Style::Event) return WHARF_UNSUPPORTED;
  if (paused == paused_) return WHARF_INVALID;
  paused_ = paused;
  return WHARF_OK;
}

std::chrono::microseconds StreamSession::idleLimit() {
  if (!idleLimit_) {
    timeval idle{};
    socklen_t length = sizeof idle;
    ::getsockopt(connection_.fd(), SOL_SOCKET, SO_RCVTIMEO, &idle, &length);
    idleLimit_ = std::chrono::seconds(idle.tv_sec) + std::chrono::microseconds(idle.tv_usec);
  }
  return *idleLimit_;
}

void StreamSession::noteTraffic(size_t bytes) {
  lastTraffic_ = std::chrono::steady_clock::now();
  windowBytes_ += bytes;
  auto limit = idleLimit();
  if (limit.count() == 0 || lastTraffic_ - windowStart_ < limit) return;
  if (windowBytes_ < kMinProgress) dripping_ = true;
  windowStart_ = lastTraffic_;
  windowBytes_ = 0;
}

StreamSession::Wait StreamSession::wait() {
  auto limit = idleLimit();
  for (;;) {
    if (tls_ && tls_->pending() && !paused_) return Wait::Input;  // decrypted, not yet read
    // The socket's hang-up and errors come even while paused: a cut is seen.
    short input = paused_ ? 0 : tls_ && tls_->readWaitsToWrite() ? POLLOUT : POLLIN;
    pollfd ready[3] = {{connection_.fd(), input, 0},
                       {agenda_.timerFd(), POLLIN, 0},
                       {agenda_.mailFd(), POLLIN, 0}};
    int timeout = -1;
    if (limit.count() > 0) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(lastTraffic_ + limit -
                                                               std::chrono::steady_clock::now());
      if (left.count() <= 0) return Wait::Idle;
      timeout = static_cast<int>(left.count());
    }
    int count = ::poll(ready, 3, timeout);
    if (count < 0 && errno != EINTR) return Wait::Input;  // receive() finds out what is wrong
    if (count <= 0) continue;
    if ((ready[1].revents | ready[2].revents) & POLLIN) return Wait::Agenda;
    if (ready[0].revents == 0) continue;
    if (!paused_) return Wait::Input;
    noteEnding(Ending::Client);  // hung up or failed while paused: nothing more to read
    return Wait::Gone;
  }
}

void StreamSession::cut(CutReason why) {
  noteCut(why);
  if (handedOff()) return;  // the connection goes on in another worker
  // A plugin with the socket gets the end of input first, and a chance to say goodbye.
  bool gentle = cuts_.fetch_add(1) == 0 && socketLent_;
  ::shutdown(connection_.fd(), gentle ? SHUT_RD : SHUT_RDWR);
}

bool StreamSession::flush() {
  bool sent = sendAll(output_.data(), output_.size());
  output_.clear();
  return sent;
}

ssize_t StreamSession::receive(void *buffer, size_t capacity) {
  if (tls_) return receiveTls(buffer, capacity);
  for (;;) {
    ssize_t got = ::recv(connection_.fd(), buffer, capacity, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got > 0) {
      countIn(static_cast<size_t>(got));
      noteTraffic(static_cast<size_t>(got));
      if (dripping_) {
        endSlowPeer(Ending::IdleTimeout, kDripping);
        return -1;
      }
    } else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      endSlowPeer(
          Ending::IdleTimeout);  // SO_RCVTIMEO, set from idle_timeout, ends the wait with EAGAIN
    } else {
      noteEnding(Ending::Client);  // closed, or reset
    }
    return got;
  }
}

// The socket stays non-blocking after the handshake: OpenSSL would wait in
// recv() for a whole record, and SO_RCVTIMEO restarts with each byte, so a
// client dripping one byte per idle_timeout would hold the thread for hours.
// Here each wait is a poll up to idle_timeout, and the progress that counts
// is the socket's bytes, not the records': a dripper is found as without TLS.
ssize_t StreamSession::receiveTls(void *buffer, size_t capacity) {
  for (;;) {
    ssize_t got = tls_->read(buffer, capacity);
    int error = errno;
    noteTlsTraffic();
    if (got > 0) countIn(static_cast<size_t>(got));
    if (dripping_) {
      endSlowPeer(Ending::IdleTimeout, kDripping);
      return -1;
    }
    if (got >= 0) {
      if (got == 0) noteEnding(Ending::Client);
      return got;
    }
    if (error != EAGAIN) {
      noteEnding(Ending::Client);  // reset, or a record that is not TLS
      return -1;
    }
    if (style_ == Style::Event) return kWouldBlock;  // wait() watches the agenda too
    if (!waitForSocket(tls_->readWaitsToWrite() ? POLLOUT : POLLIN)) {
      endSlowPeer(Ending::IdleTimeout);
      return -1;
    }
  }
}

void StreamSession::noteTlsTraffic() {
  uint64_t moved = tls_->socketBytes();
  if (moved == tlsBytesSeen_) return;
  noteTraffic(static_cast<size_t>(moved - tlsBytesSeen_));
  tlsBytesSeen_ = moved;
}

bool StreamSession::waitForSocket(short events) {
  auto limit = idleLimit();
  for (;;) {
    int timeout = -1;
    if (limit.count() > 0) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(lastTraffic_ + limit -
                                                               std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      timeout = static_cast<int>(left.count());
    }
    pollfd ready{connection_.fd(), events, 0};
    int count = ::poll(&ready, 1, timeout);
    if (count > 0 || (count < 0 && errno != EINTR)) return true;  // the next call says what came
  }
}

bool StreamSession::sendAll(const char *data, size_t len) {
  net::SendProgress sendProgress(connection_.fd());
  while (len > 0) {
    ssize_t sent =
        tls_ ? tls_->write(data, len) : ::send(connection_.fd(), data, len, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // TLS: a non-blocking socket, waited on up to idle_timeout. Either way,
      // a slow reader (the kernel's queue moved) is not a stopped one.
      if (tls_) noteTlsTraffic();
      if ((tls_ && waitForSocket(POLLOUT)) || sendProgress.advanced()) continue;
      endSlowPeer(Ending::IdleTimeout);  // SO_SNDTIMEO, set from idle_timeout: the peer has read
                                         // nothing for that long
      return false;
    }
    if (sent <= 0) {
      noteEnding(Ending::Client);
      return false;
    }
    countOut(static_cast<size_t>(sent));
    if (tls_)
      noteTlsTraffic();
    else
      noteTraffic(static_cast<size_t>(sent));
    data += sent;
    len -= static_cast<size_t>(sent);
  }
  return true;
}

}  // namespace wharf::session
