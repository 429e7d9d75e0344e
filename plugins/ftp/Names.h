// Which names FTP can carry: command lines must be UTF-8 (RFC 2640), and a
// listing line must not hold a control character (a CR or LF in a planted
// name would forge entries). A name that fails either is never sent.
#pragma once

#include <string>

namespace ftp {

bool validUtf8(const std::string &text);
// Valid UTF-8 without control characters (below 0x20, or DEL).
bool listableName(const std::string &name);
// `text` with control characters (an ESC sequence, a CR rewriting a log
// line) written as \xNN.
std::string escapedForLog(const std::string &text);

}  // namespace ftp
