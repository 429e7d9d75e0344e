#include "session/Session.h"

#include <Poco/Message.h>

namespace wharf::session {

void Session::log(int priority, std::string_view message) const {
  Poco::Logger &logger = instance_.logger();
  if (!logger.is(priority)) return;
  std::string peer = peer_.empty() ? "unnamed peer" : "peer " + peer_;
  logger.log(Poco::Message(logger.name(), peer + ": " + std::string(message),
                           static_cast<Poco::Message::Priority>(priority)));
}

}  // namespace wharf::session
