// What the server says about itself and the session: SYST, FEAT, OPTS (RFC
// 2389), HELP, STAT, NOOP and SITE.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "CommandTable.h"
#include "Listing.h"
#include "TlsContext.h"

namespace ftp {

std::span<const FtpSession::Command> FtpSession::informationCommands() {
  static const Command kCommands[] = {
      {"SYST", &S::syst, Arg::None, true, "SYST"},
      {"FEAT", &S::feat, Arg::None, true, "FEAT (list extensions)"},
      {"OPTS", &S::opts, Arg::Required, true, "OPTS UTF8 ON | OPTS MLST <facts>"},
      {"HELP", &S::help, Arg::Optional, true, "HELP [command]"},
      {"STAT", &S::stat, Arg::Optional, false, "STAT [path]"},
      {"NOOP", &S::noop, Arg::None, true, "NOOP"},
      {"SITE", &S::site, Arg::Required, false, "SITE HELP | SITE CHMOD <mode> <path>"},
  };
  return kCommands;
}

void FtpSession::syst(const std::string &) {
  control_.reply(215, "UNIX Type: L8");
}

void FtpSession::feat(const std::string &) {
  std::string features = "Features:\nEPRT\nEPSV\nMDTM\nMFMT\nMLST " + factNames(facts_, true) +
                         "\nPASV\nREST STREAM\nSIZE\nTVFS\nUTF8\n";
  if (server_.tls != nullptr) features += "AUTH TLS\nPBSZ\nPROT\n";
  control_.reply(211, features + "End");
}

void FtpSession::opts(const std::string &argument) {
  std::string option = upper(argument.substr(0, argument.find(' ')));
  if (option == "UTF8" || option == "UTF-8") {
    std::string value = upper(argument.substr(std::min(argument.size(), option.size() + 1)));
    if (value == "ON" || value.empty()) return control_.reply(200, "Always in UTF8 mode.");
    // RFC 2389 4: OPTS answers 200, 451 or 501.
    return control_.reply(501, "UTF8 cannot be turned off.");
  }
  if (option == "MLST") {  // RFC 3659 7.9: unknown facts are ignored; none selects none
    std::string list = argument.size() > 5 ? argument.substr(5) : "";
    if (list.find(' ') != std::string::npos)  // 7.9.2: the selection stays as it was
      return control_.reply(501, "Invalid MLST options (no spaces in the list of facts).");
    facts_ = parseFacts(list);
    std::string names = factNames(facts_);  // 7.9.1: no space after OPTS when none
    return control_.reply(200, "MLST OPTS" + (names.empty() ? "" : " " + names));
  }
  control_.reply(501, "Option not understood.");
}

void FtpSession::help(const std::string &argument) {
  if (!argument.empty()) {
    const Command *command = find(upper(argument));
    if (command == nullptr) return control_.reply(502, "Unknown command " + argument + ".");
    return control_.reply(214, "Syntax: " + std::string(command->syntax));
  }
  std::string text = "The following commands are recognized:\n";
  for (const auto &command : commands()) text += std::string(command.verb) + "\n";
  control_.reply(214, text + "Help OK.");
}

void FtpSession::stat(const std::string &argument) {
  if (argument.empty())
    return control_.reply(211, "Wharf FTP server status:\nLogged in as " + account_->name +
                                   "\nTYPE: " + (ascii_ ? "ASCII" : "BINARY") + "\nSession " +
                                   (control_.stream().encrypted() ? "" : "not ") +
                                   "protected by TLS\nEnd of status");
  std::string target = path(withoutListOptions(argument));
  struct stat status {};
  if (!jail_.stat(target, status)) return failed("STAT " + argument);
  std::string text = "Status of " + target + ":\n";
  time_t now = ::time(nullptr);
  if (!S_ISDIR(status.st_mode)) {
    text += listLine(Jail::leaf(target), status, now);
  } else {
    size_t count = 0, hidden = 0;
    bool listed = jail_.forEachEntry(
        target,
        [&](const char *name, const struct stat &entry, int) {
          if (++count > 1000) return false;  // a STAT reply stays small; LIST streams
          std::string line = listLine(name, entry, now);
          text += line.substr(0, line.size() - 2) + "\n";
          return true;
        },
        hidden);
    if (!listed) return failed("STAT " + argument);
    logHidden(target, hidden);
  }
  // RFC 959 4.2.1: 212 is a folder's status, 213 a file's.
  control_.reply(S_ISDIR(status.st_mode) ? 212 : 213, text + "End of status");
}

void FtpSession::noop(const std::string &) {
  control_.reply(200, "NOOP ok.");
}

void FtpSession::site(const std::string &argument) {
  std::string sub = upper(argument.substr(0, argument.find(' ')));
  if (sub == "HELP") return control_.reply(214, "SITE commands: CHMOD HELP\nHelp OK.");
  // RFC 959 5.4: SITE answers 200, 202, 500, 501 or 530.
  if (sub != "CHMOD") return control_.reply(500, "SITE command not understood.");
  std::string rest = argument.size() > 6 ? argument.substr(6) : "";
  size_t space = rest.find(' ');
  if (space == std::string::npos) return control_.reply(501, "Syntax: SITE CHMOD <mode> <path>");
  unsigned long mode = 0;
  try {
    size_t used = 0;
    mode = std::stoul(rest.substr(0, space), &used, 8);
    if (used != space || mode > 07777) throw std::invalid_argument("mode");
  } catch (const std::exception &) {
    return control_.reply(501, "Mode must be octal, e.g. 644.");
  }
  if (mode & 07000)
    return control_.reply(550,
                          "SITE CHMOD: set-user-ID, set-group-ID and sticky bits are not "
                          "allowed.");
  if (!writable()) return;
  Fd file = jail_.open(path(rest.substr(space + 1)), O_RDONLY);
  if (!file.valid() || ::fchmod(file.get(), static_cast<mode_t>(mode)) != 0)
    return failed("SITE CHMOD");
  control_.reply(200, "SITE CHMOD command ok.");
}

}  // namespace ftp
