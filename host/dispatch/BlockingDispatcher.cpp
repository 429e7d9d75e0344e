#include "dispatch/BlockingDispatcher.h"

#include <Poco/Logger.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <system_error>

#include "dispatch/HandoverPackage.h"
#include "dispatch/Intake.h"
#include "dispatch/ProxyGate.h"
#include "session/FailureLog.h"
#include "session/SessionRunner.h"

namespace wharf::dispatch {

BlockingDispatcher::BlockingDispatcher(const DispatchContext &context)
    : context_(context),
      migration_(context.config.name, context.generations, context.traffic, context.logger),
      waitingRoom_(context.socket.fd()) {}

BlockingDispatcher::~BlockingDispatcher() {
  // Only does anything without drain() if start() was never called or threw.
  stopSignal_.request();
  if (loopThread_.joinable()) loopThread_.join();
}

void BlockingDispatcher::start() {
  loopThread_ = std::thread([this] { loop(); });
}

void BlockingDispatcher::stopAccepting() {
  stopSignal_.request();
}

void BlockingDispatcher::drain() {
  if (loopThread_.joinable()) loopThread_.join();
  waitForSessions();
}

void BlockingDispatcher::loop() noexcept {
  for (;;) {
    auto pause = context_.admission.acceptPause();  // accept_rate: wait, never refuse
    if (pause.count() > 0) {
      if (!stopSignal_.sleepFor(pause)) return;
      continue;
    }
    auto wait = stopSignal_.waitReadableFor(waitingRoom_.fd(), waitingRoom_.untilNextDeadline());
    if (wait == net::StopSignal::Wait::Stopped) return serveWhoSpoke();
    try {
      WaitingRoom::Ready ready = waitingRoom_.takeReady();
      passOn(std::move(ready.spoke));
      closeSilentSessions();
      if (ready.listening) takeNext();
    } catch (const std::exception &error) {
      session::logFailure(context_.logger, "dispatching a session failed: ", error.what());
    } catch (...) {
      session::logFailure(context_.logger, "dispatching a session failed: ", "unknown");
    }
  }
}

void BlockingDispatcher::passOn(std::vector<PendingSessionPtr> spoke) {
  for (auto &session : spoke)
    session->headerDeadline ? readHeader(std::move(session)) : dispatch(std::move(session));
}

void BlockingDispatcher::serveWhoSpoke() noexcept {
  try {
    for (auto spoke = waitingRoom_.takeReady().spoke; !spoke.empty();
         spoke = waitingRoom_.takeReady().spoke)
      passOn(std::move(spoke));
  } catch (const std::exception &error) {
    session::logFailure(context_.logger, "dispatching a session failed: ", error.what());
  } catch (...) {
    session::logFailure(context_.logger, "dispatching a session failed: ", "unknown");
  }
}

void BlockingDispatcher::closeSilentSessions() {
  size_t silent = 0, slowHeaders = 0;
  for (const auto &session : waitingRoom_.takeExpired())
    ++(session->headerDeadline ? slowHeaders : silent);
  refuseSlowHeaders(context_, slowHeaders);
  refuseWaited(context_, listener::Refusal::WaitForData, silent, "that sent nothing");
}

void BlockingDispatcher::takeNext() {
  if (context_.streams())
    acceptConnection();
  else
    receiveDatagram();
}

void BlockingDispatcher::dispatch(PendingSessionPtr session) {
  net::SocketAddress peer = session->peer;
  listener::Refusal refusal = scheduleRefusal();
  try {
    if (schedule(std::move(session))) return;
  } catch (const std::system_error &) {  // no thread to be had: the session closes
    refusal = listener::Refusal::Resources;
  } catch (const std::bad_alloc &) {
    refusal = listener::Refusal::Resources;
  }
  refuse(context_, peer, refusal);
}

void BlockingDispatcher::serve(PendingSession &session) noexcept {
  listener::Generation &generation = *session.generation;
  if (session.connection.valid())
    // The session pins its generation from here: a move lets it go.
    session::runStreamSession(generation.instance(), generation.style(), generation.live(),
                              std::move(session.connection), session.peer,
                              context_.ledger(generation.number()), context_.tlsContext(),
                              &migration_, std::move(session.generation), session.arrival.get());
  else
    session::runDatagramSession(generation.instance(), generation.style(), context_.socket.fd(),
                                session.peer, session.datagram,
                                context_.ledger(generation.number()));
}

void BlockingDispatcher::acceptConnection() {
  // The listening socket is non-blocking; the accepted one is blocking.
  auto [connection, peer, resourceShortage] = acceptOne(context_, SOCK_CLOEXEC);
  if (!connection.valid()) {
    // Pausing lets sessions end and free descriptors, instead of spinning on
    // a listening socket that stays readable.
    if (resourceShortage) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return;
  }
  auto session = std::make_shared<PendingSession>();
  session->peer = peer;
  session->connection = std::move(connection);
  if (!context_.config.proxy.enabled()) return admit(std::move(session));
  if (!proxyTrusted(context_, peer)) return;  // closed at once
  session->headerDeadline = WaitingRoom::Clock::now() + context_.config.proxy.timeout;
  readHeader(std::move(session));  // a balancer sends it at once: usually it is there already
}

void BlockingDispatcher::readHeader(PendingSessionPtr session) {
  switch (
      readProxyHeader(context_, session->connection.fd(), session->headerSoFar, session->peer)) {
    case HeaderRead::Waiting:
      return waitingRoom_.add(session, *session->headerDeadline);
    case HeaderRead::Refused:
      return;  // closed
    case HeaderRead::Done:
      session->headerDeadline.reset();
      session->headerSoFar = {};
      return admit(std::move(session));
  }
}

// wait_for_data as set; unset, on for a plugin whose client speaks first, so
// that a silent peer holds no thread, worker or process (for no longer than
// idle_timeout would let it hold one).
std::chrono::milliseconds BlockingDispatcher::waitForData(
    const listener::Generation &generation) const {
  if (context_.config.waitForData) return *context_.config.waitForData;
  // A TLS client speaks first whatever the protocol inside: its ClientHello.
  if (!context_.tls && !generation.instance().plugin().has(WHARF_CAP_CLIENT_FIRST))
    return std::chrono::milliseconds(0);
  std::chrono::milliseconds patience = config::kClientFirstWaitForData;
  if (auto idle = context_.config.limits.idleTimeout; idle.count() > 0)
    patience = std::min(patience, idle);
  if (context_.tls) patience = std::min(patience, context_.tls->current()->handshakeTimeout());
  return patience;
}

void BlockingDispatcher::limitIdleTime(int fd) const {
  if (auto idle = context_.config.limits.idleTimeout; idle.count() > 0) {
    timeval timeout{static_cast<time_t>(idle.count() / 1000),
                    static_cast<suseconds_t>(idle.count() % 1000 * 1000)};
    // Both ways: a peer that stops reading must not hold a thread in send() forever.
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  }
}

void BlockingDispatcher::admit(PendingSessionPtr session) {
  auto ticket = admitPeer(context_, session->peer);
  if (!ticket) return;  // closed at once
  limitIdleTime(session->connection.fd());
  session->generation = context_.generations.current();
  session->ticket.emplace(std::move(*ticket));
  if (auto patience = waitForData(*session->generation); patience.count() > 0)
    waitingRoom_.add(std::move(session), WaitingRoom::Clock::now() + patience);
  else
    dispatch(std::move(session));
}

void BlockingDispatcher::receiveDatagram() {
  size_t maximum = context_.config.limits.maxDatagram;
  datagramBuffer_.resize(maximum);
  net::SocketAddress peer;
  // MSG_TRUNC: the datagram's real length, so an oversized one is dropped, not cut.
  ssize_t got = ::recvfrom(context_.socket.fd(), datagramBuffer_.data(), datagramBuffer_.size(),
                           MSG_TRUNC, peer.get(), peer.lengthPointer());
  if (got < 0) {
    if (errno != EAGAIN && errno != EINTR && context_.admission.acceptErrorLog().admit())
      context_.logger.warning(std::string("recvfrom: ") + std::strerror(errno));
    return;
  }
  if (!datagramFits(context_, static_cast<size_t>(got), peer)) return;
  auto ticket = admitPeer(context_, peer);
  if (!ticket) return;
  dispatch(std::make_shared<PendingSession>(
      PendingSession{context_.generations.current(),
                     peer,
                     net::FileDescriptor(),
                     std::vector<uint8_t>(datagramBuffer_.begin(), datagramBuffer_.begin() + got),
                     std::move(ticket),
                     std::nullopt,
                     {},
                     nullptr}));
}

bool BlockingDispatcher::handOverSessions(std::shared_ptr<HandoverLink> link, pid_t to,
                                          std::chrono::milliseconds timeout) {
  return context_.streams() && context_.config.migration.enabled &&
         migration_.handOver(std::move(link), to, timeout);
}

bool BlockingDispatcher::adoptSession(Poco::JSON::Object::Ptr package,
                                      net::FileDescriptor &connection,
                                      std::shared_ptr<HandoverLink> link) {
  if (!context_.streams() || !context_.config.migration.enabled) return false;
  std::string listener = context_.config.name;
  uint64_t id = package->optValue<uint64_t>("id", 0);
  auto refuse = [&](const std::string &why) {
    link->send(refusedAnswer(listener, id, why));
    return true;
  };  // `connection` is closed, never shut down: it stays the old worker's
  std::string why;
  std::optional<HandedOver> handed =
      admitHandedOver(context_, *package, connection, stopSignal_.requested(), "blocking", why);
  if (!handed) return refuse(why);
  UnpackedSession &unpacked = handed->session;
  auto session = std::make_shared<PendingSession>();
  session->generation = context_.generations.current();
  session->peer = unpacked.peer;
  session->connection = std::move(connection);
  session->ticket.emplace(std::move(handed->ticket));
  limitIdleTime(session->connection.fd());
  session->arrival = std::make_shared<session::Arrival>(session::Arrival{
      std::move(unpacked.fromVersion), std::move(unpacked.state), unpacked.bytes, unpacked.started,
      // Moved is answered past the queue, before the session is served: were
      // this worker to die after reading the client, the other would serve
      // the session on from the state it sent, and the client would hear both.
      [link, listener, id, frozenSince = unpacked.frozenSince](bool moved, const std::string &why) {
        if (moved) return link->sendNow(*movedAnswer(listener, id, frozenSince));
        link->send(refusedAnswer(listener, id, why));
        return true;
      }});
  try {
    if (schedule(session)) return true;
  } catch (const std::exception &) {  // no thread to be had
  }
  return refuse("the new worker has no thread for it");
}

}  // namespace wharf::dispatch
