// Which names FTP can carry: command lines must be UTF-8 (RFC 2640), and a
// listing line must not hold a control character (a CR or LF in a planted
// name would forge entries). A name that fails either is never sent.
#pragma once

#include <string>

#include "common/Text.h"

namespace ftp {

using common::escapedForLog;
using common::validUtf8;
// Valid UTF-8 without control characters (below 0x20, or DEL).
bool listableName(const std::string &name);

}  // namespace ftp
