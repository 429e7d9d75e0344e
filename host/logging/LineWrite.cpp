#include "logging/LineWrite.h"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace wharf::logging {

bool writeLine(int fd, std::string_view text, size_t limit) noexcept {
  char buffer[PIPE_BUF];
  std::string heap;
  const char *data = buffer;
  size_t length = std::min(text.size(), limit - 1);
  try {
    if (length + 1 <= sizeof buffer) {
      std::memcpy(buffer, text.data(), length);
      buffer[length] = '\n';
    } else {
      heap.reserve(length + 1);
      heap.append(text.substr(0, length)).push_back('\n');
      data = heap.data();
    }
  } catch (...) {
    return false;
  }
  for (;;) {
    ssize_t put = ::write(fd, data, length + 1);
    if (put < 0 && errno == EINTR) continue;
    return put == static_cast<ssize_t>(length + 1);
  }
}

}  // namespace wharf::logging
