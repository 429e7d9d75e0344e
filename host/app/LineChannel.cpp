#include "app/LineChannel.h"

#include <Poco/Message.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace wharf::app {

void LineChannel::log(const Poco::Message &message) {
  std::string line = message.getText() + "\n";
  for (size_t written = 0; written < line.size();) {
    ssize_t put = ::write(STDERR_FILENO, line.data() + written, line.size() - written);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return;
    written += static_cast<size_t>(put);
  }
}

}  // namespace wharf::app
