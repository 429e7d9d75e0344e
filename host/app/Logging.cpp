#include "app/Logging.h"

#include <Poco/AutoPtr.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include "app/LineChannel.h"

namespace wharf::app {

void configureLogging(const std::string &level) {
  Poco::AutoPtr<Poco::PatternFormatter> formatter(
      new Poco::PatternFormatter("%Y-%m-%d %H:%M:%S.%i %p [%P] %s: %t"));
  Poco::AutoPtr<Poco::FormattingChannel> channel(
      new Poco::FormattingChannel(formatter, new LineChannel));
  Poco::Logger::root().setChannel(channel);
  // Loggers made before this call (per listener) take the new settings too.
  Poco::Logger::setChannel("", channel);
  setLogLevel(level);
}

void setLogLevel(const std::string &level) {
  Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
}

}  // namespace wharf::app
