// Internal. A log line leaves in one write(2), so lines of many threads and
// processes never tear or glue together.
#pragma once

#include <cstddef>
#include <string_view>

namespace wharf::logging {

// THREAD: any. Writes `text` (cut to `limit` - 1 bytes) and a newline in one
// write; false unless all of it went.
bool writeLine(int fd, std::string_view text, size_t limit) noexcept;

}  // namespace wharf::logging
