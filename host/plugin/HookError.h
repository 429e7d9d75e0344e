// Internal. The `error, error_size` buffer a failing hook may write its reason into.
#pragma once

#include <string>

#include "logging/PrintableText.h"

namespace wharf::plugin {

class HookError {
 public:
  char *data() { return text_; }
  size_t size() const { return sizeof text_; }
  // The plugin's words, even if it forgot the terminating NUL; escaped for a log line.
  std::string message() {
    text_[sizeof text_ - 1] = '\0';
    return text_[0] != '\0' ? logging::printable(text_) : "no reason given";
  }

 private:
  char text_[512] = {};
};

}  // namespace wharf::plugin
