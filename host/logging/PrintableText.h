// Internal. Text from outside the host (a plugin's log message, what a peer
// sent) made safe for a log line: control characters are escaped (\n, \r,
// \t, \xNN), so such text can neither forge a line of its own nor drive a
// terminal. Backslashes stay as they are: a plugin that escapes its own text
// (the FTP plugin does) is not escaped twice.
#pragma once

#include <string>
#include <string_view>

namespace wharf::logging {

std::string printable(std::string_view text);

}  // namespace wharf::logging
