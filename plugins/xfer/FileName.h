// Which file names a client may use: one plain name in the root. A "/" or
// "\", "." and "..", a leading dot (hidden names, and the store's own
// temporary names), NUL and other control characters, invalid UTF-8 and
// names longer than 255 bytes are refused.
#pragma once

#include <optional>
#include <string>

namespace xfer {

// Why `name` is refused, or nothing if it is fine.
std::optional<std::string> fileNameRefusal(const std::string &name);

}  // namespace xfer
