#include "session/Session.h"

#include <Poco/Message.h>

namespace wharf::session {

const std::string &Session::peer() const {
  if (!peerFormatted_) {
    peerText_ = peerAddress_.toString();
    peerFormatted_ = true;
  }
  return peerText_;
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
