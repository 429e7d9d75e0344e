// Internal. The checks every dispatcher makes on what it takes off the
// listening socket, in one place: accepting, admission (logged when refused),
// the datagram size bound, and a session another worker handed over.
#pragma once

#include <optional>
#include <string_view>

#include "dispatch/DispatchMode.h"
#include "dispatch/HandoverPackage.h"

namespace wharf::dispatch {

struct Accepted {
  net::FileDescriptor socket;  // invalid: nothing accepted
  net::SocketAddress peer;
  bool resourceShortage = false;  // out of descriptors or memory: pause accepting a while
};

// Accepts one connection with accept4 `flags`, TCP_NODELAY set for IP peers
// (a reply goes out when written, not when Nagle allows). An empty backlog,
// an aborted connection or a listening socket shut down by stopAccepting
// yield nothing silently; other errors are logged.
Accepted acceptOne(const DispatchContext &context, int flags);

// Logs a refusal, at most 10 a second per listener (the counters count all).
// `detail`, if any, says more than the reason's name ("v2 header with malformed TLVs").
void logRefusal(const DispatchContext &context, const net::SocketAddress &peer,
                listener::Refusal refusal, std::string_view detail = {});
// Counts a refusal decided outside Admission::admit, and logs it as above.
void refuse(const DispatchContext &context, const net::SocketAddress &peer,
            listener::Refusal refusal, std::string_view detail = {});

// Counts `count` connections closed together for `refusal` (their wait ran
// out) and logs, throttled, that they were: "closed N connections " + `what`.
void refuseWaited(const DispatchContext &context, listener::Refusal refusal, size_t count,
                  const std::string &what);

// A ticket for `peer`, or nullopt after logging why it was refused.
std::optional<listener::Admission::Ticket> admitPeer(const DispatchContext &context,
                                                     const net::SocketAddress &peer);

// Whether a datagram of `length` bytes (recvfrom with MSG_TRUNC) from `peer`
// may be served: it fits max_datagram, its source is no service's port
// (ReflectorPorts: an answer could start an endless loop) and is within
// datagram_rate. Counts and logs
// (throttled) the drop when not.
bool datagramFits(const DispatchContext &context, size_t length, const net::SocketAddress &peer);

// A session a retiring worker sent (migrate = on), unpacked and admitted.
struct HandedOver {
  UnpackedSession session;
  listener::Admission::Ticket ticket;
};
// Takes `package` (its connection: `connection`) if this listener can: not
// `stopping`, plaintext, the package whole, its state written by hooks of
// `style` ("event" or "blocking": the mode may have changed), and the peer
// within max_sessions and max_per_source (no accept token). Else nullopt,
// and `why` for the refusal's answer.
std::optional<HandedOver> admitHandedOver(const DispatchContext &context,
                                          const Poco::JSON::Object &package,
                                          const net::FileDescriptor &connection, bool stopping,
                                          std::string_view style, std::string &why);

}  // namespace wharf::dispatch
