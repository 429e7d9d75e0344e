#include "FtpSession.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wharf/wharf.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <thread>

#include "Listing.h"
#include "Names.h"
#include "TlsContext.h"

namespace ftp {
namespace {

enum class Arg { None, Required, Optional };

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), ::toupper);
  return text;
}

bool isAnonymousName(const std::string &name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  return lower == "anonymous" || lower == "ftp";
}

// "LIST -la dir": options are ignored (no globbing, no recursion).
std::string withoutListOptions(const std::string &argument) {
  std::string rest = argument;
  while (rest.starts_with("-")) {
    size_t space = rest.find(' ');
    rest = space == std::string::npos ? "" : rest.substr(space + 1);
  }
  return rest;
}

bool parseNumber(const std::string &text, unsigned long long maximum, unsigned long long &value) {
  if (text.empty() || text.size() > 20) return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > maximum) return false;
  }
  return true;
}

}  // namespace

struct FtpSession::Command {
  const char *verb;
  void (FtpSession::*handler)(const std::string &);
  Arg arg;
  bool beforeLogin;
  const char *syntax;
};

namespace {
using S = FtpSession;
}

// The one list of commands: dispatch and HELP read it.
std::span<const FtpSession::Command> FtpSession::commands() {
  static const Command kCommands[] = {
      {"ABOR", &S::abor, Arg::None, false, "ABOR (abort the transfer)"},
      {"ACCT", &S::acct, Arg::Required, true, "ACCT <account>"},
      {"ALLO", &S::allo, Arg::Required, false, "ALLO <bytes>"},
      {"APPE", &S::appe, Arg::Required, false, "APPE <file>"},
      {"AUTH", &S::auth, Arg::Required, true, "AUTH TLS"},
      {"CDUP", &S::cdup, Arg::None, false, "CDUP (up one folder)"},
      {"CWD", &S::cwd, Arg::Optional, false, "CWD [folder]"},
      {"DELE", &S::dele, Arg::Required, false, "DELE <file>"},
      {"EPRT", &S::eprt, Arg::Required, false, "EPRT |proto|address|port|"},
      {"EPSV", &S::epsv, Arg::Optional, false, "EPSV [ALL|1|2]"},
      {"FEAT", &S::feat, Arg::None, true, "FEAT (list extensions)"},
      {"HELP", &S::help, Arg::Optional, true, "HELP [command]"},
      {"LIST", &S::list, Arg::Optional, false, "LIST [path]"},
      {"MDTM", &S::mdtm, Arg::Required, false, "MDTM <file>"},
      {"MFMT", &S::mfmt, Arg::Required, false, "MFMT <YYYYMMDDHHMMSS> <file>"},
      {"MKD", &S::mkd, Arg::Required, false, "MKD <folder>"},
      {"MLSD", &S::mlsd, Arg::Optional, false, "MLSD [folder]"},
      {"MLST", &S::mlst, Arg::Optional, false, "MLST [path]"},
      {"MODE", &S::mode, Arg::Required, false, "MODE S"},
      {"NLST", &S::nlst, Arg::Optional, false, "NLST [path]"},
      {"NOOP", &S::noop, Arg::None, true, "NOOP"},
      {"OPTS", &S::opts, Arg::Required, true, "OPTS UTF8 ON | OPTS MLST <facts>"},
      {"PASS", &S::pass, Arg::Optional, true, "PASS <password>"},
      {"PASV", &S::pasv, Arg::None, false, "PASV"},
      {"PBSZ", &S::pbsz, Arg::Required, true, "PBSZ 0"},
      {"PORT", &S::port, Arg::Required, false, "PORT h1,h2,h3,h4,p1,p2"},
      {"PROT", &S::prot, Arg::Required, true, "PROT P|C"},
      {"PWD", &S::pwd, Arg::None, false, "PWD"},
      {"QUIT", &S::quit, Arg::None, true, "QUIT"},
      {"REIN", &S::rein, Arg::None, true, "REIN (log out)"},
      {"REST", &S::rest, Arg::Required, false, "REST <offset>"},
      {"RETR", &S::retr, Arg::Required, false, "RETR <file>"},
      {"RMD", &S::rmd, Arg::Required, false, "RMD <folder>"},
      {"RNFR", &S::rnfr, Arg::Required, false, "RNFR <path>"},
      {"RNTO", &S::rnto, Arg::Required, false, "RNTO <path>"},
      {"SITE", &S::site, Arg::Required, false, "SITE HELP | SITE CHMOD <mode> <path>"},
      {"SIZE", &S::size, Arg::Required, false, "SIZE <file>"},
      {"STAT", &S::stat, Arg::Optional, false, "STAT [path]"},
      {"STOR", &S::stor, Arg::Required, false, "STOR <file>"},
      {"STOU", &S::stou, Arg::None, false, "STOU"},
      {"STRU", &S::stru, Arg::Required, false, "STRU F"},
      {"SYST", &S::syst, Arg::None, true, "SYST"},
      {"TYPE", &S::type, Arg::Required, false, "TYPE A|I"},
      {"USER", &S::user, Arg::Required, true, "USER <name>"},
      {"XCUP", &S::cdup, Arg::None, false, "XCUP"},
      {"XCWD", &S::cwd, Arg::Required, false, "XCWD <folder>"},
      {"XMKD", &S::mkd, Arg::Required, false, "XMKD <folder>"},
      {"XPWD", &S::pwd, Arg::None, false, "XPWD"},
      {"XRMD", &S::rmd, Arg::Required, false, "XRMD <folder>"},
  };
  return kCommands;
}

const FtpSession::Command *FtpSession::find(const std::string &verb) {
  for (const auto &command : commands())
    if (verb == command.verb) return &command;
  return nullptr;
}

FtpSession::FtpSession(const ServerContext &server, int controlFd, Log log)
    : server_(server),
      options_(server.options),
      control_(controlFd),
      // Paths in log lines come from clients: control characters never reach the log raw.
      log_([log = std::move(log)](int level, const std::string &text) {
        log(level, escapedForLog(text));
      }),
      data_(options_.passiveFirst, options_.passiveLast,
            [this](const std::string &message) { log_(WHARF_LOG_WARNING, message); }) {
  socklen_t length = sizeof local_;
  ::getsockname(controlFd, reinterpret_cast<sockaddr *>(&local_), &length);
  length = sizeof peer_;
  ::getpeername(controlFd, reinterpret_cast<sockaddr *>(&peer_), &length);
  control_.setStallTimeout(options_.idleTimeout);
}

void FtpSession::run() {
  control_.reply(220, options_.banner);
  while (!done_ && control_.ok()) {
    std::string line;
    switch (control_.readLine(line, options_.idleTimeout)) {
      case Control::Read::Line:
        dispatch(line);
        break;
      case Control::Read::Timeout:
        control_.reply(421, "Timeout: no command for " +
                                std::to_string(options_.idleTimeout.count()) + " s. Goodbye.");
        return;
      case Control::Read::Closed:
        return;
      case Control::Read::TooLong:
        control_.reply(500, "Command line too long.");
        break;
      case Control::Read::Invalid:
        control_.reply(500, "Command line not valid UTF-8 text.");
        break;
    }
  }
  if (control_.stalled())
    log_(WHARF_LOG_NOTICE, "closing: the client read no reply for idle_timeout (" +
                               std::to_string(options_.idleTimeout.count()) + " s)");
}

void FtpSession::dispatch(const std::string &line) {
  size_t space = line.find(' ');
  std::string verb = verbOf(line);
  std::string argument = space == std::string::npos ? "" : line.substr(space + 1);
  const Command *command = find(verb);
  if (command == nullptr) return control_.reply(500, "Unknown command.");
  if (!command->beforeLogin && !account_)
    return control_.reply(530, "Please login with USER and PASS.");
  if (command->arg == Arg::Required && argument.empty())
    return control_.reply(501, "Syntax: " + std::string(command->syntax));
  if (command->arg == Arg::None && !argument.empty())
    return control_.reply(501, "Syntax: " + std::string(command->syntax) + " (takes no argument)");
  if (verb != "RNTO" && verb != "RNFR") renameFrom_.reset();
  (this->*command->handler)(argument);
  if (verb != "REST") restart_ = 0;  // REST applies to the command right after it only
}

// --- access and login ---------------------------------------------------

void FtpSession::user(const std::string &argument) {
  // RFC 959: USER at any time flushes the login and starts a new one; the
  // transfer parameters stay.
  if (account_) {
    log_(WHARF_LOG_INFO, "user " + account_->name + " logged out (USER)");
    account_.reset();
    renameFrom_.reset();
    cwd_ = "/";
  }
  if (options_.tls == TlsMode::Require && !control_.stream().encrypted())
    return control_.reply(530, "This server requires TLS: use AUTH TLS first.");
  pendingUser_ = argument;
  if (isAnonymousName(argument) && options_.anonymous != Anonymous::Off)
    return control_.reply(331, "Anonymous login ok, send your e-mail address as password.");
  control_.reply(331, "Password required for " + argument + ".");
}

void FtpSession::pass(const std::string &argument) {
  if (account_) return control_.reply(230, "Already logged in.");
  if (!pendingUser_) return control_.reply(503, "Login with USER first.");
  std::string name = *pendingUser_;
  pendingUser_.reset();
  std::optional<Account> account;
  bool locked = false;
  if (isAnonymousName(name)) {
    if (options_.anonymous == Anonymous::Read) account = Account{"anonymous", "", false};
  } else if (!(locked = server_.lockout.locked(name))) {  // locked: not even checked
    account = server_.users.verify(name, argument);
  }
  if (account) {
    try {
      jail_ = server_.root.inside(account->home.empty() ? "/" : account->home);
    } catch (const std::exception &error) {
      log_(WHARF_LOG_ERROR, "user " + name + ": " + error.what());
      return control_.reply(530, "Login incorrect.");
    }
    account_ = account;
    cwd_ = "/";
    failures_ = 0;
    server_.lockout.succeeded(account->name);
    log_(WHARF_LOG_INFO, "user " + account->name + " logged in");
    return control_.reply(230, "Login successful.");
  }
  ++failures_;
  if (!locked) {  // a locked account's failures were counted and logged already
    log_(WHARF_LOG_NOTICE, "failed login for " + name + " (" + std::to_string(failures_) + ")");
    if (server_.lockout.failed(name))
      log_(WHARF_LOG_WARNING, "account " + name + " locked for " +
                                  std::to_string(options_.accountLockout.count()) + " s after " +
                                  std::to_string(options_.maxAccountFailures) + " failed logins");
  }
  std::this_thread::sleep_for(options_.loginFailureDelay);  // slows guessing down
  if (failures_ >= options_.maxLoginFailures) {
    control_.reply(421, "Too many failed logins. Goodbye.");
    done_ = true;
    return;
  }
  control_.reply(530, "Login incorrect.");
}

void FtpSession::acct(const std::string &) {
  control_.reply(202, "ACCT not needed.");
}

void FtpSession::rein(const std::string &) {
  account_.reset();
  pendingUser_.reset();
  renameFrom_.reset();
  data_.clear();
  cwd_ = "/";
  ascii_ = false;
  facts_ = kAllFacts;
  control_.reply(220, "Logged out; ready for a new user.");
}

void FtpSession::quit(const std::string &) {
  control_.reply(221, "Goodbye.");
  done_ = true;
}

void FtpSession::auth(const std::string &argument) {
  std::string mechanism = upper(argument);
  if (server_.tls == nullptr) return control_.reply(502, "TLS is not configured on this server.");
  if (mechanism != "TLS" && mechanism != "SSL" && mechanism != "TLS-C")
    return control_.reply(504, "AUTH " + argument + " not supported (use AUTH TLS).");
  if (control_.stream().encrypted()) return control_.reply(503, "Already using TLS.");
  control_.reply(234, "Proceed with TLS negotiation.");
  std::string error;
  auto stream = server_.tls->accept(control_.fd(), nullptr, options_.idleTimeout, error);
  if (!stream) {
    log_(WHARF_LOG_NOTICE, "TLS handshake failed: " + error);
    done_ = true;
    return;
  }
  control_.upgrade(std::move(stream));
}

void FtpSession::pbsz(const std::string &argument) {
  if (!control_.stream().encrypted()) return control_.reply(503, "PBSZ needs AUTH TLS first.");
  pbszGiven_ = true;
  control_.reply(200, argument == "0" ? "PBSZ=0" : "PBSZ=0 (only 0 is possible)");
}

void FtpSession::prot(const std::string &argument) {
  if (!control_.stream().encrypted()) return control_.reply(503, "PROT needs AUTH TLS first.");
  if (!pbszGiven_) return control_.reply(503, "PROT needs PBSZ first.");
  std::string level = upper(argument);
  if (level == "P") {
    protectData_ = true;
    return control_.reply(200, "Data connections will be protected.");
  }
  if (level == "C") {
    if (options_.tls == TlsMode::Require)
      return control_.reply(534, "This server requires protected data connections (PROT P).");
    protectData_ = false;
    return control_.reply(200, "Data connections will be clear.");
  }
  control_.reply(504, "PROT " + argument + " not supported (use P or C).");
}

// --- information ----------------------------------------------------------

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
    return control_.reply(504, "UTF8 cannot be turned off.");
  }
  if (option == "MLST") {  // RFC 3659 7.9: unknown facts are ignored; none selects none
    facts_ = parseFacts(argument.size() > 5 ? argument.substr(5) : "");
    return control_.reply(200, "MLST OPTS " + factNames(facts_));
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
  control_.reply(213, text + "End of status");
}

void FtpSession::noop(const std::string &) {
  control_.reply(200, "NOOP ok.");
}

void FtpSession::site(const std::string &argument) {
  std::string sub = upper(argument.substr(0, argument.find(' ')));
  if (sub == "HELP") return control_.reply(214, "SITE commands: CHMOD HELP\nHelp OK.");
  if (sub != "CHMOD") return control_.reply(504, "Unknown SITE command.");
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

// --- folders and files -----------------------------------------------------

std::string FtpSession::quoted(const std::string &path) {
  std::string text = "\"";
  for (char c : path) text += c == '"' ? std::string("\"\"") : std::string(1, c);
  return text + "\"";
}

bool FtpSession::writable() {
  if (account_ && account_->writable) return true;
  control_.reply(550, "Permission denied (read-only account).");
  return false;
}

void FtpSession::logHidden(const std::string &folder, size_t hidden) {
  if (hidden > 0)
    log_(WHARF_LOG_WARNING, "listing of " + folder + ": left out " + std::to_string(hidden) +
                                " names with control characters or not in UTF-8");
}

std::string FtpSession::shownLink(int folder, const char *name) {
  char buffer[4096];
  ssize_t length = ::readlinkat(folder, name, buffer, sizeof buffer);
  if (length <= 0) return "";
  std::string link(buffer, static_cast<size_t>(length));
  if (link.starts_with("/") || link == ".." || link.starts_with("../") ||
      link.find("/../") != std::string::npos || link.ends_with("/.."))
    return "";
  return listableName(link) ? link : "";
}

void FtpSession::failed(const std::string &what) {
  int error = errno;
  std::string reason = error == ENOENT                     ? "No such file or folder"
                       : error == EEXIST                   ? "Already exists"
                       : error == ENOTDIR                  ? "Not a folder"
                       : error == EISDIR                   ? "Is a folder"
                       : error == ENOTEMPTY                ? "Folder not empty"
                       : error == EACCES || error == EPERM ? "Permission denied"
                       : error == EXDEV                    ? "Cannot move across file systems"
                                                           : std::strerror(error);
  control_.reply(550, what.substr(0, what.find(' ')) + " failed: " + reason + ".");
}

void FtpSession::pwd(const std::string &) {
  control_.reply(257, quoted(cwd_) + " is the current folder.");
}

void FtpSession::cwd(const std::string &argument) {
  std::string target = argument.empty() ? "/" : path(argument);  // no argument: home
  Fd folder = jail_.open(target, O_PATH | O_DIRECTORY);
  if (!folder.valid()) return failed("CWD " + argument);
  cwd_ = target;
  control_.reply(250, "Folder changed to " + cwd_ + ".");
}

void FtpSession::cdup(const std::string &) {
  cwd("..");
}

void FtpSession::mkd(const std::string &argument) {
  if (!writable()) return;
  std::string target = path(argument);
  Jail::Entry entry;
  if (!jail_.entry(target, entry) ||
      ::mkdirat(entry.folder.get(), entry.name.c_str(), 0777 & ~options_.umask) != 0)
    return failed("MKD " + argument);
  control_.reply(257, quoted(target) + " created.");
}

void FtpSession::rmd(const std::string &argument) {
  if (!writable()) return;
  Jail::Entry entry;
  if (!jail_.entry(path(argument), entry) ||
      ::unlinkat(entry.folder.get(), entry.name.c_str(), AT_REMOVEDIR) != 0)
    return failed("RMD " + argument);
  control_.reply(250, "Folder removed.");
}

void FtpSession::dele(const std::string &argument) {
  if (!writable()) return;
  Jail::Entry entry;
  if (!jail_.entry(path(argument), entry) ||
      ::unlinkat(entry.folder.get(), entry.name.c_str(), 0) != 0)
    return failed("DELE " + argument);
  control_.reply(250, "File deleted.");
}

void FtpSession::rnfr(const std::string &argument) {
  if (!writable()) return;
  std::string source = path(argument);
  Jail::Entry entry;
  struct stat status {};
  if (!jail_.entry(source, entry) ||
      ::fstatat(entry.folder.get(), entry.name.c_str(), &status, AT_SYMLINK_NOFOLLOW) != 0)
    return failed("RNFR " + argument);
  renameFrom_ = source;
  control_.reply(350, "Ready for RNTO.");
}

void FtpSession::rnto(const std::string &argument) {
  if (!renameFrom_) return control_.reply(503, "RNFR required first.");
  std::string source = *renameFrom_;
  renameFrom_.reset();
  if (!writable()) return;
  Jail::Entry from, to;
  if (!jail_.entry(source, from) || !jail_.entry(path(argument), to) ||
      ::renameat(from.folder.get(), from.name.c_str(), to.folder.get(), to.name.c_str()) != 0)
    return failed("RNTO " + argument);
  control_.reply(250, "Rename successful.");
}

void FtpSession::size(const std::string &argument) {
  struct stat status {};
  if (!jail_.stat(path(argument), status)) return failed("SIZE " + argument);
  if (!S_ISREG(status.st_mode)) return control_.reply(550, "SIZE failed: not a plain file.");
  control_.reply(213, std::to_string(status.st_size));
}

void FtpSession::mdtm(const std::string &argument) {
  struct stat status {};
  if (!jail_.stat(path(argument), status)) return failed("MDTM " + argument);
  control_.reply(213, timestamp(status.st_mtime));
}

void FtpSession::mfmt(const std::string &argument) {
  size_t space = argument.find(' ');
  time_t when = 0;
  if (space == std::string::npos || !parseTimestamp(argument.substr(0, space), when))
    return control_.reply(501, "Syntax: MFMT <YYYYMMDDHHMMSS> <file>");
  if (!writable()) return;
  std::string target = argument.substr(space + 1);
  Fd file = jail_.open(path(target), O_RDONLY);
  timespec times[2] = {{0, UTIME_OMIT}, {when, 0}};
  if (!file.valid() || ::futimens(file.get(), times) != 0) return failed("MFMT " + target);
  control_.reply(213, "Modify=" + argument.substr(0, 14) + "; " + target);
}

// --- transfer parameters ---------------------------------------------------

void FtpSession::type(const std::string &argument) {
  std::string kind = upper(argument);
  if (kind == "A" || kind == "A N") {
    ascii_ = true;
    return control_.reply(200, "Switching to ASCII mode.");
  }
  if (kind == "I" || kind == "L 8" || kind == "L8") {
    ascii_ = false;
    return control_.reply(200, "Switching to Binary mode.");
  }
  control_.reply(504, "TYPE " + argument + " not supported (use A or I).");
}

void FtpSession::stru(const std::string &argument) {
  if (upper(argument) == "F") return control_.reply(200, "Structure set to F.");
  control_.reply(504, "Only STRU F is supported.");
}

void FtpSession::mode(const std::string &argument) {
  if (upper(argument) == "S") return control_.reply(200, "Mode set to S.");
  control_.reply(504, "Only MODE S is supported.");
}

void FtpSession::allo(const std::string &) {
  control_.reply(202, "ALLO not needed.");
}

void FtpSession::rest(const std::string &argument) {
  unsigned long long offset = 0;
  if (!parseNumber(argument, static_cast<unsigned long long>(INT64_MAX), offset))
    return control_.reply(501, "REST needs a byte offset.");
  if (offset > 0 && ascii_) return control_.reply(504, "REST is for TYPE I only.");
  restart_ = static_cast<off_t>(offset);
  control_.reply(350, "Restarting at " + argument + ". Send STOR or RETR.");
}

bool FtpSession::useActive(const sockaddr_storage &target) {
  if (epsvOnly_) {
    control_.reply(501, "EPSV ALL was given: only EPSV is allowed.");
    return false;
  }
  uint16_t port =
      ntohs(target.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in &>(target).sin_port
                                        : reinterpret_cast<const sockaddr_in6 &>(target).sin6_port);
  // FTP bounce: a data connection to anyone but the client, or to a privileged port.
  if (!sameIp(target, peer_) || port < 1024) {
    log_(WHARF_LOG_WARNING, "refused PORT/EPRT to " + ipText(target) + " port " +
                                std::to_string(port) + " (FTP bounce)");
    control_.reply(501, "Data connections go to your own address, port 1024 or above.");
    return false;
  }
  data_.connectTo(target);
  return true;
}

void FtpSession::port(const std::string &argument) {
  unsigned long long parts[6];
  size_t at = 0;
  for (int i = 0; i < 6; ++i) {
    size_t comma = i < 5 ? argument.find(',', at) : argument.size();
    if (comma == std::string::npos || !parseNumber(argument.substr(at, comma - at), 255, parts[i]))
      return control_.reply(501, "Syntax: PORT h1,h2,h3,h4,p1,p2");
    at = comma + 1;
  }
  sockaddr_storage target{};
  auto &v4 = reinterpret_cast<sockaddr_in &>(target);
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr =
      htonl(static_cast<uint32_t>(parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]));
  v4.sin_port = htons(static_cast<uint16_t>(parts[4] << 8 | parts[5]));
  if (useActive(target)) control_.reply(200, "PORT command successful.");
}

void FtpSession::eprt(const std::string &argument) {
  // |1|192.0.2.1|6000| or |2|2001:db8::1|6000| (any delimiter)
  if (argument.size() < 7) return control_.reply(501, "Syntax: EPRT |proto|address|port|");
  char delimiter = argument[0];
  std::string fields[3];
  size_t at = 1;
  for (auto &field : fields) {
    size_t end = argument.find(delimiter, at);
    if (end == std::string::npos) return control_.reply(501, "Syntax: EPRT |proto|address|port|");
    field = argument.substr(at, end - at);
    at = end + 1;
  }
  unsigned long long portNumber = 0;
  if (!parseNumber(fields[2], 65535, portNumber))
    return control_.reply(501, "Syntax: EPRT |proto|address|port|");
  sockaddr_storage target{};
  if (fields[0] == "1") {
    auto &v4 = reinterpret_cast<sockaddr_in &>(target);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(portNumber));
    if (::inet_pton(AF_INET, fields[1].c_str(), &v4.sin_addr) != 1)
      return control_.reply(501, "Bad IPv4 address.");
  } else if (fields[0] == "2") {
    auto &v6 = reinterpret_cast<sockaddr_in6 &>(target);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(portNumber));
    if (::inet_pton(AF_INET6, fields[1].c_str(), &v6.sin6_addr) != 1)
      return control_.reply(501, "Bad IPv6 address.");
  } else {
    return control_.reply(522, "Network protocol not supported, use (1,2)");
  }
  if (useActive(target)) control_.reply(200, "EPRT command successful.");
}

void FtpSession::pasv(const std::string &) {
  if (epsvOnly_) return control_.reply(501, "EPSV ALL was given: only EPSV is allowed.");
  sockaddr_storage local = local_;
  bool mapped = local.ss_family == AF_INET6 &&
                IN6_IS_ADDR_V4MAPPED(&reinterpret_cast<sockaddr_in6 &>(local).sin6_addr);
  if (local.ss_family != AF_INET && !mapped)
    return control_.reply(425, "PASV is IPv4 only: use EPSV.");
  uint16_t port = 0;
  if (!data_.listenPassive(local, port)) return control_.reply(425, "Cannot open a passive port.");
  std::string address =
      options_.masqueradeAddress.empty() ? ipText(local) : options_.masqueradeAddress;
  std::replace(address.begin(), address.end(), '.', ',');
  control_.reply(227, "Entering Passive Mode (" + address + "," + std::to_string(port >> 8) + "," +
                          std::to_string(port & 0xFF) + ").");
}

void FtpSession::epsv(const std::string &argument) {
  std::string kind = upper(argument);
  if (kind == "ALL") {
    epsvOnly_ = true;
    return control_.reply(200, "EPSV ALL ok.");
  }
  int family = local_.ss_family == AF_INET ? 1 : 2;
  if (!kind.empty() && kind != std::to_string(family))
    return control_.reply(522,
                          "Network protocol not supported, use (" + std::to_string(family) + ")");
  uint16_t port = 0;
  if (!data_.listenPassive(local_, port)) return control_.reply(425, "Cannot open a passive port.");
  control_.reply(229, "Entering Extended Passive Mode (|||" + std::to_string(port) + "|)");
}

void FtpSession::abor(const std::string &) {
  data_.clear();
  control_.reply(225, "No transfer to abort.");
}

// --- transfers ---------------------------------------------------------------

std::optional<Transfer> FtpSession::beginTransfer(const std::string &what) {
  if (options_.tls == TlsMode::Require && !protectData_) {
    data_.clear();
    control_.reply(521, "This server requires protected data connections (PBSZ 0, PROT P).");
    return std::nullopt;
  }
  std::string error;
  Fd socket = data_.open(local_, peer_, options_.dataTimeout, error);
  if (!socket.valid()) {
    control_.reply(425, error);
    return std::nullopt;
  }
  control_.reply(150, "Opening " + std::string(ascii_ ? "ASCII" : "BINARY") +
                          " mode data connection for " + what + ".");
  std::unique_ptr<Stream> stream;
  if (protectData_) {
    stream = server_.tls->accept(socket.get(), &control_.stream(), options_.dataTimeout, error);
    if (!stream) {
      log_(WHARF_LOG_NOTICE, "data connection TLS: " + error);
      control_.reply(522, "TLS on the data connection failed: " + error);
      return std::nullopt;
    }
  } else {
    stream = std::make_unique<PlainStream>(socket.get());
  }
  return Transfer(control_, std::move(socket), std::move(stream), options_.dataTimeout);
}

void FtpSession::endTransfer(Transfer::Outcome outcome, const std::string &done) {
  switch (outcome) {
    case Transfer::Outcome::Done:
      return control_.reply(226, done);
    case Transfer::Outcome::Aborted:
      control_.reply(426, "Connection closed; transfer aborted.");
      return control_.reply(226, "ABOR successful.");
    case Transfer::Outcome::DataFailed:
      return control_.reply(426, "Connection closed; transfer aborted.");
    case Transfer::Outcome::TimedOut:
      log_(WHARF_LOG_NOTICE, "data_timeout: the data connection stalled");
      return control_.reply(426, "Data connection timed out; transfer aborted.");
    case Transfer::Outcome::LocalError:
      return control_.reply(451, "Local error; transfer aborted.");
    case Transfer::Outcome::ControlGone:
      done_ = true;
      return;
  }
}

void FtpSession::retr(const std::string &argument) {
  std::string target = path(argument);
  off_t offset = restart_;  // dispatch() clears it after this command
  Fd file = jail_.open(target, O_RDONLY);
  struct stat status {};
  if (!file.valid() || ::fstat(file.get(), &status) != 0) return failed("RETR " + argument);
  if (!S_ISREG(status.st_mode)) return control_.reply(550, "RETR failed: not a plain file.");
  if (offset > status.st_size)
    return control_.reply(554, "REST offset " + std::to_string(offset) + " is past the end (" +
                                   std::to_string(status.st_size) + " bytes).");
  auto transfer =
      beginTransfer(target + " (" + std::to_string(status.st_size - offset) + " bytes)");
  if (!transfer) return;
  Transfer::Outcome outcome = transfer->sendFile(file.get(), offset, ascii_);
  transfer->finish();
  log_(WHARF_LOG_INFO, "RETR " + target + ": " + std::to_string(transfer->bytes()) + " bytes");
  endTransfer(outcome);
}

void FtpSession::stor(const std::string &argument) {
  store(path(argument), false);
}

void FtpSession::appe(const std::string &argument) {
  if (restart_ > 0) return control_.reply(503, "REST cannot be used with APPE (it appends).");
  store(path(argument), true);
}

void FtpSession::stou(const std::string &) {
  if (restart_ > 0) return control_.reply(503, "REST cannot be used with STOU (a new file).");
  if (!writable()) return;
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = "wharf-" + std::to_string(::time(nullptr)) + "-" +
                       std::to_string(::getpid()) + "-" + std::to_string(counter++);
    std::string target = path(name);
    struct stat status {};
    if (!jail_.stat(target, status)) return store(target, false);
  }
  control_.reply(450, "Cannot find a unique name.");
}

// Overwrites go to an anonymous file in the same folder (O_TMPFILE), named
// into place only once complete: an interrupted upload leaves the old file
// whole. REST and APPE write in place, as resuming requires.
void FtpSession::store(const std::string &target, bool append) {
  off_t offset = restart_;  // dispatch() clears it after this command
  if (!writable()) return;
  Jail::Entry entry;
  if (!jail_.entry(target, entry)) return failed("STOR " + target);
  if (entry.name.size() > NAME_MAX)  // refused before the data connection, not after the data
    return control_.reply(553,
                          "File name too long (at most " + std::to_string(NAME_MAX) + " bytes).");
  mode_t mode = 0666 & ~options_.umask;
  Fd file;
  bool atomic = !append && offset == 0;
  if (atomic) {
    file = Fd(::openat(entry.folder.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode));
  } else {
    file = jail_.open(target, O_WRONLY | O_CREAT | (append ? O_APPEND : 0), mode);
    struct stat status {};
    if (file.valid() && (::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode)))
      return control_.reply(550, "STOR failed: not a plain file.");
    if (file.valid() && offset > 0) {
      if (offset > status.st_size)
        return control_.reply(554, "REST offset " + std::to_string(offset) + " is past the end (" +
                                       std::to_string(status.st_size) + " bytes).");
      if (::ftruncate(file.get(), offset) != 0 || ::lseek(file.get(), offset, SEEK_SET) < 0)
        return failed("STOR " + target);
    }
  }
  if (!file.valid()) return failed("STOR " + target);
  auto transfer = beginTransfer(target);
  if (!transfer) return;
  Transfer::Outcome outcome = transfer->receiveFile(file.get(), ascii_);
  transfer->finish();
  if (outcome == Transfer::Outcome::Done && atomic) {
    // Short whatever the target's name: any legal name (up to NAME_MAX) can be stored.
    static std::atomic<uint64_t> uploads{0};
    std::string staged =
        ".wharf-upload-" + std::to_string(::getpid()) + "-" + std::to_string(uploads++);
    std::string self = "/proc/self/fd/" + std::to_string(file.get());
    if (::linkat(AT_FDCWD, self.c_str(), entry.folder.get(), staged.c_str(), AT_SYMLINK_FOLLOW) !=
            0 ||
        ::renameat(entry.folder.get(), staged.c_str(), entry.folder.get(), entry.name.c_str()) !=
            0) {
      ::unlinkat(entry.folder.get(), staged.c_str(), 0);
      outcome = Transfer::Outcome::LocalError;
    }
  }
  log_(WHARF_LOG_INFO, "STOR " + target + ": " + std::to_string(transfer->bytes()) + " bytes" +
                           (outcome == Transfer::Outcome::Done ? "" : " (incomplete, not kept)"));
  endTransfer(outcome);
}

void FtpSession::list(const std::string &argument) {
  sendListing(argument, Transfer::ListStyle::Long);
}

void FtpSession::nlst(const std::string &argument) {
  sendListing(argument, Transfer::ListStyle::Names);
}

void FtpSession::mlsd(const std::string &argument) {
  struct stat status {};
  if (jail_.stat(path(argument), status) && !S_ISDIR(status.st_mode))
    return control_.reply(501, "MLSD needs a folder (use MLST for a file).");
  sendListing(argument, Transfer::ListStyle::Facts);
}

void FtpSession::mlst(const std::string &argument) {
  std::string target = path(argument);
  struct stat status {};
  if (!jail_.stat(target, status)) return failed("MLST " + argument);
  control_.reply(250, "Listing " + target + "\n" + factsOf(status, account_->writable, facts_) +
                          target + "\nEnd");
}

void FtpSession::sendListing(const std::string &argument, Transfer::ListStyle style) {
  std::string target = path(withoutListOptions(argument));
  struct stat status {};
  if (!jail_.stat(target, status)) return failed("LIST " + argument);
  time_t now = ::time(nullptr);
  auto line = [&](const std::string &name, const struct stat &entry, const std::string &link) {
    switch (style) {
      case Transfer::ListStyle::Long:
        return listLine(name, entry, now, link);
      case Transfer::ListStyle::Names:
        return name + "\r\n";
      case Transfer::ListStyle::Facts:
        return factsOf(entry, account_->writable, facts_) + name + "\r\n";
    }
    return std::string();
  };
  if (!S_ISDIR(status.st_mode)) {
    auto transfer = beginTransfer("file list");
    if (!transfer) return;
    Transfer::Outcome outcome = transfer->sendText(line(
        style == Transfer::ListStyle::Names ? withoutListOptions(argument) : Jail::leaf(target),
        status, ""));
    if (outcome == Transfer::Outcome::Done) outcome = transfer->flush();
    transfer->finish();
    return endTransfer(outcome);
  }
  Fd probe = jail_.open(target, O_RDONLY | O_DIRECTORY);  // refuse before the data connection
  if (!probe.valid()) return failed("LIST " + argument);
  probe.reset();
  auto transfer = beginTransfer("file list");
  if (!transfer) return;
  Transfer::Outcome outcome = Transfer::Outcome::Done;
  size_t count = 0, hidden = 0;
  jail_.forEachEntry(
      target,
      [&](const char *name, const struct stat &entry, int folder) {
        struct stat shown = entry;
        std::string link;
        if (S_ISLNK(entry.st_mode) && style == Transfer::ListStyle::Long)
          link = shownLink(folder, name);
        // Facts describe what a link leads to, resolved inside the jail.
        if (S_ISLNK(entry.st_mode) && style == Transfer::ListStyle::Facts &&
            !jail_.stat(Jail::resolve(target, name), shown))
          return true;
        if (++count > options_.maxListEntries) {
          log_(WHARF_LOG_NOTICE, "listing of " + target + " cut at max_list_entries");
          return false;
        }
        outcome = transfer->sendText(line(name, shown, link));
        return outcome == Transfer::Outcome::Done;
      },
      hidden);
  logHidden(target, hidden);
  if (outcome == Transfer::Outcome::Done) outcome = transfer->flush();
  transfer->finish();
  endTransfer(outcome);
}

}  // namespace ftp
