#include "dispatch/ForkDispatcher.h"

#include <Poco/Logger.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "dispatch/ForkChannel.h"
#include "dispatch/ForkHelper.h"
#include "dispatch/Intake.h"
#include "logging/LogFile.h"

namespace wharf::dispatch {
namespace {

// How long a worker's start or a reload waits for the helper to load a generation.
constexpr auto kLoadTimeout = std::chrono::milliseconds(30000);

std::runtime_error loadTimedOut(uint64_t generation) {
  return std::runtime_error("the fork helper did not load generation " +
                            std::to_string(generation) + " in time");
}

}  // namespace

// A session a child process serves, as wharfd sees it: its admission place
// and generation (held until the helper reports its end), registered so that
// a deadline can cut it.
class ForkDispatcher::Child : public session::Cuttable {
 public:
  Child(ForkDispatcher &owner, uint64_t id, PendingSessionPtr session)
      : owner_(owner),
        id_(id),
        session_(std::move(session)),
        registered_(session_->generation->live(), *this) {}

  void cut(session::CutReason) override { owner_.cutChild(id_); }

 private:
  ForkDispatcher &owner_;
  uint64_t id_;
  PendingSessionPtr session_;
  session::LiveSessions::Entry registered_;
};

ForkDispatcher::ForkDispatcher(const DispatchContext &context)
    : BlockingDispatcher(context), maxChildren_(context.config.fork.maxChildren) {
  // Before the fork: keys that come meanwhile are passed with the next session.
  if (context.tls) ticketKeysPassed_ = context.tls->ticketKeys()->changes();
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  helper_ = ::fork();
  if (helper_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (helper_ == 0) {
    ::close(ends[0]);
    runForkHelper(ends[1], this->context());
  }
  ::close(ends[1]);
  channel_ = net::HostDescriptor(ends[0]);
  logFilesPassed_ = logging::fileChanges();  // the helper has this process's
  context.logger.information("fork helper process " + std::to_string(helper_));
}

ForkDispatcher::~ForkDispatcher() {
  stopHelper();
}

void ForkDispatcher::start() {
  reports_ = std::thread([this] { readReports(); });
  BlockingDispatcher::start();
}

void ForkDispatcher::adopt(const listener::Generation &generation) {
  uint64_t number = generation.number();
  fork::Header load{};
  load.kind = fork::Kind::Load;
  load.id = number;
  if (!fork::send(channel_.fd(), load, generation.instance().plugin().stagedFd(),
                  fork::encodeLoad(
                      {generation.instance().plugin().file(), generation.instance().options()})))
    throw std::runtime_error("handing generation " + std::to_string(number) +
                             " to the fork helper: " + std::strerror(errno));
  // Acknowledged only once the helper serves it: then every later session does.
  std::string failure = reports_.joinable() ? awaitLoaded(number) : readLoaded(number);
  if (!failure.empty())
    throw std::runtime_error("the fork helper could not load generation " + std::to_string(number) +
                             ": " + failure);
}

std::string ForkDispatcher::awaitLoaded(uint64_t generation) {
  std::unique_lock lock(mutex_);
  if (!loaded_.wait_for(lock, kLoadTimeout,
                        [&] { return helperGone_ || loadResults_.count(generation) != 0; }))
    throw loadTimedOut(generation);
  auto result = loadResults_.find(generation);
  if (result == loadResults_.end()) throw std::runtime_error("the fork helper has gone");
  std::string failure = std::move(result->second);
  loadResults_.erase(result);
  return failure;
}

std::string ForkDispatcher::readLoaded(uint64_t generation) {
  // Before start(): no session yet, so the helper's next message is the answer.
  pollfd answer{channel_.fd(), POLLIN, 0};
  if (::poll(&answer, 1, static_cast<int>(kLoadTimeout.count())) <= 0)
    throw loadTimedOut(generation);
  std::optional<fork::Message> report = fork::receive(channel_.fd());
  if (!report) throw std::runtime_error("the fork helper has gone");
  if (report->header.kind != fork::Kind::Loaded || report->header.id != generation)
    throw std::runtime_error("the fork helper answered out of turn");
  return std::string(report->payload.begin(), report->payload.end());
}

bool ForkDispatcher::schedule(PendingSessionPtr session) {
  std::lock_guard lock(mutex_);
  if (running_.size() >= maxChildren_) return false;
  passChangedLogFiles();
  passChangedTicketKeys();
  fork::Header request{};
  request.kind = fork::Kind::Serve;
  request.id = nextId_++;
  request.peerLength = session->peer.length();
  std::memcpy(&request.peer, session->peer.get(), session->peer.length());
  if (!fork::send(channel_.fd(), request, session->connection.fd(), session->datagram)) {
    context().logger.error(std::string("handing a session to the fork helper: ") +
                           std::strerror(errno));
    return false;
  }
  session->connection = net::FileDescriptor();  // the child has its own copy now
  running_.emplace(request.id, std::make_unique<Child>(*this, request.id, std::move(session)));
  return true;
}

void ForkDispatcher::passChangedLogFiles() {
  uint64_t changes = logging::fileChanges();
  if (changes == logFilesPassed_) return;
  logFilesPassed_ = changes;
  for (const auto &file : logging::openFiles()) {
    fork::Header note{};
    note.kind = fork::Kind::LogFile;
    const std::string &path = file->path();
    fork::send(channel_.fd(), note, file->fd(),
               {reinterpret_cast<const uint8_t *>(path.data()), path.size()});
  }
}

void ForkDispatcher::passChangedTicketKeys() {
  if (!context().tls) return;
  const tls::TicketKeys &keys = *context().tls->ticketKeys();
  uint64_t changes = keys.changes();
  if (changes == ticketKeysPassed_) return;
  ticketKeysPassed_ = changes;
  fork::Header note{};
  note.kind = fork::Kind::TicketKeys;
  std::string encoded = tls::encodeTicketKeys(keys.keys());
  fork::send(channel_.fd(), note, -1,
             {reinterpret_cast<const uint8_t *>(encoded.data()), encoded.size()});
}

void ForkDispatcher::cutChild(uint64_t id) {
  fork::Header cut{};
  cut.kind = fork::Kind::Cut;
  cut.id = id;
  fork::send(channel_.fd(), cut, -1, {});
}

void ForkDispatcher::readReports() noexcept {
  while (std::optional<fork::Message> report = fork::receive(channel_.fd())) {
    std::lock_guard lock(mutex_);
    if (report->header.kind == fork::Kind::Loaded) {
      loadResults_[report->header.id].assign(report->payload.begin(), report->payload.end());
      loaded_.notify_all();
    } else if (report->header.kind == fork::Kind::Done ||
               report->header.kind == fork::Kind::Unforked) {
      running_.erase(report->header.id);
      if (running_.empty()) idle_.notify_all();
    }
    if (report->header.kind == fork::Kind::Unforked) {
      refuse(context(),
             net::SocketAddress(reinterpret_cast<const sockaddr *>(&report->header.peer),
                                report->header.peerLength),
             listener::Refusal::Resources);
    }
  }
  std::lock_guard lock(mutex_);  // the helper has gone: nothing more will end
  running_.clear();
  helperGone_ = true;
  idle_.notify_all();
  loaded_.notify_all();
}

void ForkDispatcher::waitForSessions() {
  {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return running_.empty(); });
  }
  stopHelper();
}

void ForkDispatcher::stopHelper() {
  if (helper_ <= 0) return;
  fork::Header stop{};
  stop.kind = fork::Kind::Stop;
  fork::send(channel_.fd(), stop, -1, {});
  int status = 0;
  while (::waitpid(helper_, &status, 0) < 0 && errno == EINTR) {
  }
  helper_ = -1;
  if (reports_.joinable()) reports_.join();  // the helper's exit ends the channel
}

}  // namespace wharf::dispatch
