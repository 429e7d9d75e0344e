// How FTP shows files: LIST lines as `ls -l` prints them, MLSD/MLST facts
// (RFC 3659), and RFC 3659 timestamps.
#pragma once

#include <sys/stat.h>

#include <ctime>
#include <string>

namespace ftp {

// "-rw-r--r--   1 ftp      ftp          1024 Nov 22 08:07 name" (a year
// instead of the time when older than six months or in the future).
std::string listLine(const std::string &name, const struct stat &status, time_t now,
                     const std::string &linkTarget = "");
// The facts MLST and MLSD send, as bits; OPTS MLST selects among them.
enum Fact : unsigned { kType = 1, kSize = 2, kModify = 4, kPerm = 8, kUnique = 16, kAllFacts = 31 };
// The facts a client's "type;SIZE;bogus;" names that this server knows (any case).
unsigned parseFacts(const std::string &list);
// "type;size;" for `facts`; with `starred`, every known fact, those of `facts`
// marked "*" (FEAT).
std::string factNames(unsigned facts, bool starred = false);
// "type=file;size=1024;modify=20261122080700;perm=radfw;unique=803x1a2b; "
// (the name follows), the `selected` facts only. `writable`: the user may change it.
std::string factsOf(const struct stat &status, bool writable, unsigned selected = kAllFacts);
// "20261122080700", UTC.
std::string timestamp(time_t when);
// Parses a timestamp (MFMT); false if malformed.
bool parseTimestamp(const std::string &text, time_t &when);

}  // namespace ftp
