// Checks and escapes for text that arrives from a peer: names in commands
// and headers are UTF-8, and what goes to the log never carries a control
// character (an ESC sequence, a CR rewriting a log line).
#pragma once

#include <string>

namespace common {

bool validUtf8(const std::string &text);
// True if `text` holds a control character (below 0x20, or DEL).
bool hasControlCharacter(const std::string &text);
// `text` with control characters written as \xNN.
std::string escapedForLog(const std::string &text);

}  // namespace common
