#include "dispatch/Intake.h"

#include <Poco/Logger.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "net/ReflectorPorts.h"

namespace wharf::dispatch {

Accepted acceptOne(const DispatchContext &context, int flags) {
  Accepted accepted;
  accepted.socket = net::FileDescriptor(
      ::accept4(context.socket.fd(), accepted.peer.get(), accepted.peer.lengthPointer(), flags));
  if (!accepted.socket.valid()) {
    int error = errno;
    if (error == EAGAIN || error == EINTR || error == ECONNABORTED || error == EINVAL)
      return accepted;  // EINVAL: no longer listening (stopAccepting shut it down)
    accepted.resourceShortage =
        error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
    if (std::optional<uint64_t> leftOut = context.admission.acceptErrorLog().admit())
      context.logger.warning(std::string("accept: ") + std::strerror(error) +
                             (accepted.resourceShortage ? "; pausing accepts briefly" : "") +
                             listener::leftOutNote(*leftOut, "failed accepts"));
    return accepted;
  }
  if (accepted.peer.family() != AF_UNIX) {
    int on = 1;
    ::setsockopt(accepted.socket.fd(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  return accepted;
}

void logRefusal(const DispatchContext &context, const net::SocketAddress &peer,
                listener::Refusal refusal, std::string_view detail) {
  std::optional<uint64_t> leftOut = context.admission.refusalLog().admit();
  if (!leftOut) return;
  context.logger.warning("refused " + peer.toString() + " (" + listener::refusalName(refusal) +
                         ")" + (detail.empty() ? "" : ": " + std::string(detail)) +
                         listener::leftOutNote(*leftOut, "refusals"));
}

void refuse(const DispatchContext &context, const net::SocketAddress &peer,
            listener::Refusal refusal, std::string_view detail) {
  context.admission.countRefusal(refusal);
  logRefusal(context, peer, refusal, detail);
}

void refuseWaited(const DispatchContext &context, listener::Refusal refusal, size_t count,
                  const std::string &what) {
  if (count == 0) return;
  context.admission.countRefusal(refusal, count);
  if (std::optional<uint64_t> leftOut = context.admission.refusalLog().admit())
    context.logger.notice(std::string(listener::refusalName(refusal)) + ": closed " +
                          std::to_string(count) + " connections " + what +
                          listener::leftOutNote(*leftOut, "refusals"));
}

std::optional<listener::Admission::Ticket> admitPeer(const DispatchContext &context,
                                                     const net::SocketAddress &peer) {
  context.admission.spendAcceptToken();
  listener::Refusal refusal{};
  auto ticket = context.admission.admit(peer, refusal);
  if (!ticket) {
    // The default limit surprises where every client comes through one
    // address (a balancer or NAT that sends no PROXY header): say so.
    const config::ListenerLimits &limits = context.config.limits;
    bool defaultPerSource =
        refusal == listener::Refusal::MaxPerSource && limits.perSourceSparesLoopback;
    logRefusal(context, peer, refusal,
               defaultPerSource ? "the default of " + std::to_string(limits.maxPerSource) +
                                      " per address; set max_per_source (0: off) where clients "
                                      "share an address"
                                : std::string());
  }
  return ticket;
}

bool datagramFits(const DispatchContext &context, size_t length, const net::SocketAddress &peer) {
  if (net::isReflector(peer)) {
    refuse(context, peer, listener::Refusal::Loop, "a datagram service's port; not answered");
    return false;
  }
  if (length > context.config.limits.maxDatagram) {
    refuse(context, peer, listener::Refusal::MaxDatagram);
    return false;
  }
  if (!context.admission.withinDatagramRate(peer)) {
    refuse(context, peer, listener::Refusal::DatagramRate);
    return false;
  }
  return true;
}

std::optional<HandedOver> admitHandedOver(const DispatchContext &context,
                                          const Poco::JSON::Object &package,
                                          const net::FileDescriptor &connection, bool stopping,
                                          std::string_view style, std::string &why) {
  auto refused = [&why](std::string reason) {
    why = std::move(reason);
    return std::nullopt;
  };
  if (stopping) return refused("the new worker is stopping");
  // A plaintext connection cannot become a TLS one (tls = on since).
  if (!connection.valid() || context.tlsContext()) return refused("not a plaintext listener here");
  UnpackedSession unpacked;
  try {
    unpacked = unpackSession(package);
  } catch (const std::exception &error) {
    return refused(std::string("a garbled package: ") + error.what());
  }
  // Event hooks cannot go on from what blocking code handed over, nor resume
  // from what event hooks exported.
  if (unpacked.style != style) return refused("a session of another mode");
  listener::Refusal refusal{};
  auto ticket = context.admission.admit(unpacked.peer, refusal);
  if (!ticket) return refused("over the new worker's limits (max_sessions, max_per_source)");
  return HandedOver{std::move(unpacked), std::move(*ticket)};
}

}  // namespace wharf::dispatch
