#include "app/Logging.h"

#include <Poco/AutoPtr.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include "logging/LineChannel.h"

namespace wharf::app {

void configureLogging(const std::string &level, const std::string &destination) {
  auto sink = logging::openLineSink(destination, "wharfd");
  // Syslog stamps each line with the time, "wharfd" and the process id.
  Poco::AutoPtr<Poco::PatternFormatter> formatter(new Poco::PatternFormatter(
      sink->stampsLines() ? "%p %s: %t" : "%Y-%m-%d %H:%M:%S.%i %p [%P] %s: %t"));
  Poco::AutoPtr<Poco::FormattingChannel> channel(
      new Poco::FormattingChannel(formatter, new logging::LineChannel(std::move(sink))));
  Poco::Logger::root().setChannel(channel);
  // Loggers made before this call (per listener) take the new settings too.
  Poco::Logger::setChannel("", channel);
  setLogLevel(level);
}

std::vector<std::string> reopenLogFiles(const std::string &cause) {
  std::vector<std::string> failures = logging::reopenFiles();
  Poco::Logger &logger = Poco::Logger::get("wharfd");
  for (const auto &failure : failures) logger.error(cause + ": " + failure);
  if (failures.empty()) logger.information(cause + ": log files reopened");
  return failures;
}

void setLogLevel(const std::string &level) {
  Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
}

}  // namespace wharf::app
