#include "dispatch/HandoverPackage.h"

#include <algorithm>

#include "process/Base64.h"

namespace wharf::dispatch {

namespace {

int64_t nanosecondsOf(std::chrono::steady_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

}  // namespace

Poco::JSON::Object::Ptr packSession(const std::string &listener, uint64_t id,
                                    const session::Session &session, const std::string &style,
                                    std::span<const uint8_t> state,
                                    std::chrono::steady_clock::time_point frozenSince) {
  Poco::JSON::Object::Ptr package = new Poco::JSON::Object;
  package->set("listener", listener);
  package->set("id", id);
  package->set("style", style);
  package->set("from_version", session.instance().plugin().version());
  package->set("state", process::encodeBase64(state.data(), state.size()));
  const net::SocketAddress &peer = session.peerAddress();
  package->set("peer", process::encodeBase64(peer.get(), peer.length()));
  package->set("bytes_in", session.bytesSoFar().in);
  package->set("bytes_out", session.bytesSoFar().out);
  package->set("started_ns", nanosecondsOf(session.started()));
  package->set("frozen_ns", nanosecondsOf(frozenSince));
  return package;
}

UnpackedSession unpackSession(const Poco::JSON::Object &package) {
  using TimePoint = std::chrono::steady_clock::time_point;
  std::string peer = process::decodeBase64(package.optValue<std::string>("peer", ""));
  // Only a statistic: one that is missing, not a number, or not in the last
  // hour is not sent, and never makes the session garbled.
  std::optional<TimePoint> frozenSince;
  try {
    if (package.has("frozen_ns")) {
      TimePoint frozen(std::chrono::nanoseconds(package.getValue<int64_t>("frozen_ns")));
      auto now = std::chrono::steady_clock::now();
      if (frozen >= now - std::chrono::hours(1) && frozen <= now) frozenSince = frozen;
    }
  } catch (const std::exception &) {  // Poco's conversions and ranges
  }
  return {package.optValue<std::string>("style", "event"),  // as sent before styles were named
          package.optValue<std::string>("from_version", ""),
          process::decodeBase64(package.optValue<std::string>("state", "")),
          net::SocketAddress(reinterpret_cast<const sockaddr *>(peer.data()),
                             static_cast<socklen_t>(peer.size())),
          {package.optValue<uint64_t>("bytes_in", 0), package.optValue<uint64_t>("bytes_out", 0)},
          TimePoint(std::chrono::nanoseconds(package.optValue<int64_t>("started_ns", 0))),
          frozenSince};
}

namespace {

Poco::JSON::Object::Ptr answerFor(const std::string &listener, uint64_t id,
                                  const std::string &outcome) {
  Poco::JSON::Object::Ptr answer = new Poco::JSON::Object;
  answer->set("listener", listener);
  answer->set("id", id);
  answer->set("outcome", outcome);
  return answer;
}

}  // namespace

Poco::JSON::Object::Ptr movedAnswer(
    const std::string &listener, uint64_t id,
    std::optional<std::chrono::steady_clock::time_point> frozenSince) {
  Poco::JSON::Object::Ptr answer = answerFor(listener, id, "moved");
  if (frozenSince) {
    auto paused = std::chrono::steady_clock::now() - *frozenSince;
    answer->set("paused_ns", std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::max(paused, decltype(paused)::zero()))
                                 .count());
  }
  return answer;
}

Poco::JSON::Object::Ptr refusedAnswer(const std::string &listener, uint64_t id,
                                      const std::string &why) {
  Poco::JSON::Object::Ptr answer = answerFor(listener, id, "refused");
  answer->set("why", why);
  return answer;
}

std::chrono::nanoseconds pauseReported(const Poco::JSON::Object &answer,
                                       std::chrono::nanoseconds measuredHere) {
  int64_t reported = answer.optValue<int64_t>("paused_ns", -1);
  if (reported < 0 || std::chrono::nanoseconds(reported) > measuredHere) return measuredHere;
  return std::chrono::nanoseconds(reported);
}

}  // namespace wharf::dispatch
