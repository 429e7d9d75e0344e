// Internal. Logs a failure from a place that must not throw (a session's or
// loop's last line of defence): when memory is short, building the line can
// throw too, and then the line is dropped rather than the process aborted.
#pragma once

#include <Poco/Logger.h>

#include <string>

namespace wharf::session {

inline void logFailure(Poco::Logger &logger, const char *context, const char *what) noexcept {
  try {
    logger.error(std::string(context) + what);
  } catch (...) {
  }
}

}  // namespace wharf::session
