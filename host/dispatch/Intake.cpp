#include "dispatch/Intake.h"

#include <Poco/Logger.h>

namespace wharf::dispatch {

void logRefusal(const DispatchContext &context, const net::SocketAddress &peer,
                listener::Refusal refusal) {
  std::optional<uint64_t> leftOut = context.admission.refusalLog().admit();
  if (!leftOut) return;
  context.instance.logger().warning(
      "refused " + peer.toString() + " (" + listener::refusalName(refusal) + ")" +
      (*leftOut ? " after " + std::to_string(*leftOut) + " more refusals not logged" : ""));
}

std::optional<listener::Admission::Ticket> admitPeer(const DispatchContext &context,
                                                     const net::SocketAddress &peer) {
  listener::Refusal refusal{};
  auto ticket = context.admission.admit(peer, refusal);
  if (!ticket) logRefusal(context, peer, refusal);
  return ticket;
}

bool datagramFits(const DispatchContext &context, size_t length, const net::SocketAddress &peer) {
  size_t maximum = context.config.limits.maxDatagram;
  if (length <= maximum) return true;
  context.instance.logger().notice("dropped a datagram of " + std::to_string(length) +
                                   " bytes from " + peer.toString() + " (max_datagram " +
                                   std::to_string(maximum) + ")");
  return false;
}

}  // namespace wharf::dispatch
