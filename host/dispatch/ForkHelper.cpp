#include "dispatch/ForkHelper.h"

#include <Poco/Logger.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <map>
#include <string>

#include "dispatch/ForkChannel.h"
#include "logging/LineSink.h"
#include "net/HostDescriptor.h"
#include "plugin/PluginError.h"
#include "session/LiveSessions.h"
#include "session/SessionRunner.h"
#include "tls/TicketKey.h"

namespace wharf::dispatch {
namespace {

struct Child {
  uint64_t id;
  std::string peer;
  uint64_t generation;
  std::chrono::steady_clock::time_point started;
};

class Helper {
 public:
  Helper(int channel, const DispatchContext &context)
      : channel_(channel), context_(context), logger_(context.logger) {}

  [[noreturn]] void run() {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive wharfd
    sigset_t childSignal;
    sigemptyset(&childSignal);
    sigaddset(&childSignal, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &childSignal, nullptr);
    exits_ = ::signalfd(-1, &childSignal, SFD_CLOEXEC | SFD_NONBLOCK);
    while (!(stopping_ && children_.empty())) {
      pollfd fds[2] = {{channel_, static_cast<short>(stopping_ ? 0 : POLLIN), 0},
                       {exits_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents) reapChildren();
      if (fds[0].revents) handleRequest();
    }
    ::_exit(0);
  }

 private:
  void handleRequest() {
    std::optional<fork::Message> message = fork::receive(channel_);
    if (!message) {  // wharfd has gone: nobody to report to
      stopping_ = true;
      return;
    }
    switch (message->header.kind) {
      case fork::Kind::Serve:
        return spawn(*message);
      case fork::Kind::Cut:
        for (const auto &[pid, child] : children_)
          if (child.id == message->header.id) ::kill(pid, SIGTERM);
        return;
      case fork::Kind::Load:
        return load(*message);
      case fork::Kind::Stop:
        stopping_ = true;
        return;
      case fork::Kind::LogFile:
        try {
          logging::adoptFile(std::string(message->payload.begin(), message->payload.end()),
                             std::move(message->socket));
        } catch (const std::exception &) {
          // the old file stays in use: its lines are not lost
        }
        return;
      case fork::Kind::TicketKeys:
        try {
          context_.tls->ticketKeys()->replace(tls::decodeTicketKeys(std::string_view(
              reinterpret_cast<const char *>(message->payload.data()), message->payload.size())));
        } catch (const std::exception &) {
          // the keys it has stay in use
        }
        return;
      case fork::Kind::Done:
      case fork::Kind::Loaded:
      case fork::Kind::Unforked:
        return;
    }
  }

  void spawn(fork::Message &message) {
    net::SocketAddress peer(reinterpret_cast<const sockaddr *>(&message.header.peer),
                            message.header.peerLength);
    // wharfd starts taking sessions only once generation 1 has loaded here.
    pid_t pid = instance_ ? ::fork() : -1;
    if (pid == 0) serveInChild(message, peer);
    if (pid < 0) {  // wharfd counts and logs it (throttled); the socket closes here
      fork::Header unforked = message.header;
      unforked.kind = fork::Kind::Unforked;
      fork::send(channel_, unforked, -1, {});
      return;
    }
    children_[pid] = {message.header.id, peer.toString(), generation_,
                      std::chrono::steady_clock::now()};
  }

  // Loads a generation (the first included) from wharfd's staged copy of the
  // plugin. wharfd has loaded the same bytes already; a failure here keeps
  // the previous one.
  void load(fork::Message &message) {
    fork::LoadRequest request = fork::decodeLoad(message.payload);
    config::ListenerConfig config = context_.config;
    config.options = std::move(request.options);
    std::string failure;
    try {
      auto plugin = plugin::Plugin::load(
          std::make_unique<plugin::PluginLibrary>(std::move(message.socket), request.file));
      // The listener's metrics: their values are shared with wharfd, so this
      // generation's series add to wharfd's numbers.
      auto next = std::make_unique<plugin::PluginInstance>(plugin, config, context_.metrics,
                                                           plugin::ClockThread::Refused);
      style_ = findDispatchMode(config.mode)->styleFor(*plugin);
      instance_ = std::move(next);  // the previous one's children have their own copies
      generation_ = message.header.id;
    } catch (const std::exception &error) {
      failure = error.what();
    }
    fork::Header loaded{};
    loaded.kind = fork::Kind::Loaded;
    loaded.id = message.header.id;
    fork::send(channel_, loaded, -1,
               std::span(reinterpret_cast<const uint8_t *>(failure.data()), failure.size()));
  }

  [[noreturn]] void serveInChild(fork::Message &message, const net::SocketAddress &peer) {
    ::close(channel_);
    ::close(exits_);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // SIGTERM (a cut) ends the child
    // The counters are in memory shared with wharfd: this process adds to them.
    session::Ledger ledger = context_.ledger(generation_);
    if (message.socket.valid()) {
      session::LiveSessions live;
      session::runStreamSession(*instance_, style_, live, std::move(message.socket), peer, ledger,
                                context_.tlsContext());
    } else {
      session::runDatagramSession(*instance_, style_, context_.socket.fd(), peer, message.payload,
                                  ledger);
    }
    ::_exit(0);  // no destructors: wharfd's objects belong to wharfd
  }

  void reapChildren() {
    signalfd_siginfo info;
    while (::read(exits_, &info, sizeof info) > 0) {
    }
    int status = 0;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      auto child = children_.find(pid);
      if (child == children_.end()) continue;
      if (WIFSIGNALED(status)) recordKilled(child->second, WTERMSIG(status));
      if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
        logger_.error("session process " + std::to_string(pid) + " (peer " + child->second.peer +
                      ") killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                      strsignal(WTERMSIG(status)) + ")");
      else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        logger_.warning("session process " + std::to_string(pid) + " (peer " + child->second.peer +
                        ") exited with status " + std::to_string(WEXITSTATUS(status)));
      reportDone(child->second.id);
      children_.erase(child);
    }
  }

  // A child killed by a signal never wrote its session down: a cut (SIGTERM)
  // or a crash, with the bytes it moved unknown.
  void recordKilled(const Child &child, int signal) {
    session::SessionTally tally;
    tally.duration = std::chrono::steady_clock::now() - child.started;
    tally.ending = signal == SIGTERM ? session::Ending::Cut : session::Ending::Error;
    std::string error =
        signal == SIGTERM ? "" : "session process killed by signal " + std::to_string(signal);
    context_.ledger(child.generation).record(context_.config.name, child.peer, tally, error);
  }

  void reportDone(uint64_t id) {
    fork::Header done{};
    done.kind = fork::Kind::Done;
    done.id = id;
    fork::send(channel_, done, -1, {});
  }

  int channel_;
  const DispatchContext &context_;
  Poco::Logger &logger_;
  // What new children serve with: the helper's own instance of the newest
  // generation loaded (none before the first Load), its number and style.
  std::unique_ptr<plugin::PluginInstance> instance_;
  uint64_t generation_ = 0;
  session::Style style_{};
  int exits_ = -1;  // a signalfd for SIGCHLD
  std::map<pid_t, Child> children_;
  bool stopping_ = false;
};

}  // namespace

void runForkHelper(int channel, const DispatchContext &context) {
  // What the worker's own machinery holds stays out of session processes; a
  // datagram session replies through the listening socket.
  net::HostDescriptor::closeAllBut(context.streams() ? -1 : context.socket.fd());
  try {
    Helper(channel, context).run();
  } catch (...) {
    ::_exit(1);
  }
}

}  // namespace wharf::dispatch
