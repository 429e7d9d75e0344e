#include "dispatch/HandoverPackage.h"

#include "process/Base64.h"

namespace wharf::dispatch {

Poco::JSON::Object::Ptr packSession(const std::string &listener, uint64_t id,
                                    const session::Session &session,
                                    std::span<const uint8_t> state) {
  Poco::JSON::Object::Ptr package = new Poco::JSON::Object;
  package->set("listener", listener);
  package->set("id", id);
  package->set("from_version", session.instance().plugin().version());
  package->set("state", process::encodeBase64(state.data(), state.size()));
  const net::SocketAddress &peer = session.peerAddress();
  package->set("peer", process::encodeBase64(peer.get(), peer.length()));
  package->set("bytes_in", session.bytesSoFar().in);
  package->set("bytes_out", session.bytesSoFar().out);
  package->set("started_ns",
               static_cast<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        session.started().time_since_epoch())
                                        .count()));
  return package;
}

UnpackedSession unpackSession(const Poco::JSON::Object &package) {
  std::string peer = process::decodeBase64(package.optValue<std::string>("peer", ""));
  return {package.optValue<std::string>("from_version", ""),
          process::decodeBase64(package.optValue<std::string>("state", "")),
          net::SocketAddress(reinterpret_cast<const sockaddr *>(peer.data()),
                             static_cast<socklen_t>(peer.size())),
          {package.optValue<uint64_t>("bytes_in", 0), package.optValue<uint64_t>("bytes_out", 0)},
          std::chrono::steady_clock::time_point(
              std::chrono::nanoseconds(package.optValue<int64_t>("started_ns", 0)))};
}

Poco::JSON::Object::Ptr answerFor(const std::string &listener, uint64_t id, bool moved,
                                  const std::string &why) {
  Poco::JSON::Object::Ptr answer = new Poco::JSON::Object;
  answer->set("listener", listener);
  answer->set("id", id);
  answer->set("outcome", std::string(moved ? "moved" : "refused"));
  if (!moved) answer->set("why", why);
  return answer;
}

}  // namespace wharf::dispatch
