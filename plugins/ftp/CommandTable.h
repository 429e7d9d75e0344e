// Internal to the session's files (FtpSession.cpp and one Ftp<Family>.cpp
// per command family): a command's row in the table, and the text helpers
// the families share.
#pragma once

#include <string>

#include "FtpSession.h"

namespace ftp {

enum class Arg { None, Required, Optional };

// Upper case, as verbs and keywords are compared.
std::string upper(std::string text);
// "anonymous" or "ftp", in any case.
bool isAnonymousName(const std::string &name);
// "LIST -la dir": options are ignored (no globbing, no recursion).
std::string withoutListOptions(const std::string &argument);
// A decimal whole number up to `maximum`.
bool parseNumber(const std::string &text, unsigned long long maximum, unsigned long long &value);

struct FtpSession::Command {
  const char *verb;
  void (FtpSession::*handler)(const std::string &);
  Arg arg;
  bool beforeLogin;
  const char *syntax;
};

using S = FtpSession;

}  // namespace ftp
