#include "session/Session.h"

#include <Poco/Message.h>

#include <map>
#include <memory>
#include <mutex>

#include "listener/LogThrottle.h"

namespace wharf::session {
namespace {

// One throttle per listener (by name), for the life of the process.
listener::LogThrottle &idleCloseThrottle(const std::string &listener) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<listener::LogThrottle>> throttles;
  std::lock_guard lock(mutex);
  auto &throttle = throttles[listener];
  if (!throttle) throttle = std::make_unique<listener::LogThrottle>(10);
  return *throttle;
}

}  // namespace

const std::string &Session::peer() const {
  if (!peerFormatted_) {
    peerText_ = peerAddress_.toString();
    peerFormatted_ = true;
  }
  return peerText_;
}

void Session::logIdleClose() const {
  std::optional<uint64_t> leftOut = idleCloseThrottle(instance_.listenerName()).admit();
  if (!leftOut) return;
  log(Poco::Message::PRIO_NOTICE,
      "idle_timeout: no input; closing" + listener::leftOutNote(*leftOut, "idle closes"));
}

bool Session::hookSucceeded(wharf_status status, const char *hook) const {
  if (status == WHARF_OK) return true;
  log(Poco::Message::PRIO_WARNING,
      std::string(hook) + " failed (status " + std::to_string(status) + "); closing the session");
  return false;
}

void Session::log(int priority, std::string_view message) const {
  Poco::Logger &logger = instance_.logger();
  if (!logger.is(priority)) return;
  std::string peer = this->peer().empty() ? "unnamed peer" : "peer " + this->peer();
  logger.log(Poco::Message(logger.name(), peer + ": " + std::string(message),
                           static_cast<Poco::Message::Priority>(priority)));
}

}  // namespace wharf::session
