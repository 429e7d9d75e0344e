// Which names FTP can carry: UTF-8 (RFC 2640) without control characters (a
// CR or LF in a planted name would forge listing lines). A name that fails is
// never sent, and a command line that fails is refused.
#pragma once

#include <string>

#include "common/Text.h"

namespace ftp {

using common::escapedForLog;
using common::validUtf8;
// Valid UTF-8 without control characters (below 0x20, or DEL).
bool listableName(const std::string &name);

}  // namespace ftp
