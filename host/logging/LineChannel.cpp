#include "logging/LineChannel.h"

#include <Poco/Message.h>
#include <syslog.h>

namespace wharf::logging {
namespace {

int severityOf(Poco::Message::Priority priority) {
  switch (priority) {
    case Poco::Message::PRIO_FATAL:
    case Poco::Message::PRIO_CRITICAL:
      return LOG_CRIT;
    case Poco::Message::PRIO_ERROR:
      return LOG_ERR;
    case Poco::Message::PRIO_WARNING:
      return LOG_WARNING;
    case Poco::Message::PRIO_NOTICE:
      return LOG_NOTICE;
    case Poco::Message::PRIO_INFORMATION:
      return LOG_INFO;
    default:
      return LOG_DEBUG;
  }
}

}  // namespace

void LineChannel::log(const Poco::Message &message) {
  sink_->write(severityOf(message.getPriority()), message.getText());
}

}  // namespace wharf::logging
