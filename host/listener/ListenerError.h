// Internal. A listener whose parts do not fit together (plugin, transport,
// mode); the message names listener, plugin and mode.
#pragma once

#include <stdexcept>

namespace wharf::listener {

class ListenerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace wharf::listener
