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

void Session::log(int priority, std::string_view message) const {
  Poco::Logger &logger = instance_.logger();
  if (!logger.is(priority)) return;
  std::string peer = this->peer().empty() ? "unnamed peer" : "peer " + this->peer();
  logger.log(Poco::Message(logger.name(), peer + ": " + std::string(message),
                           static_cast<Poco::Message::Priority>(priority)));
}

}  // namespace wharf::session
