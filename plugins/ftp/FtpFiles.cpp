// Navigation and file management: folders, renames, deletions, sizes and
// times (RFC 959 4.1.1/4.1.3, RFC 3659 SIZE/MDTM, MFMT).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "CommandTable.h"
#include "Listing.h"

namespace ftp {

std::span<const FtpSession::Command> FtpSession::filesCommands() {
  static const Command kCommands[] = {
      {"PWD", &S::pwd, Arg::None, false, "PWD"},
      {"XPWD", &S::pwd, Arg::None, false, "XPWD"},
      {"CWD", &S::cwd, Arg::Optional, false, "CWD [folder]"},
      {"XCWD", &S::cwd, Arg::Required, false, "XCWD <folder>"},
      {"CDUP", &S::cdup, Arg::None, false, "CDUP (up one folder)"},
      {"XCUP", &S::cdup, Arg::None, false, "XCUP"},
      {"MKD", &S::mkd, Arg::Required, false, "MKD <folder>"},
      {"XMKD", &S::mkd, Arg::Required, false, "XMKD <folder>"},
      {"RMD", &S::rmd, Arg::Required, false, "RMD <folder>"},
      {"XRMD", &S::rmd, Arg::Required, false, "XRMD <folder>"},
      {"DELE", &S::dele, Arg::Required, false, "DELE <file>"},
      {"RNFR", &S::rnfr, Arg::Required, false, "RNFR <path>"},
      {"RNTO", &S::rnto, Arg::Required, false, "RNTO <path>"},
      {"SIZE", &S::size, Arg::Required, false, "SIZE <file>"},
      {"MDTM", &S::mdtm, Arg::Required, false, "MDTM <file>"},
      {"MFMT", &S::mfmt, Arg::Required, false, "MFMT <YYYYMMDDHHMMSS> <file>"},
  };
  return kCommands;
}

std::string FtpSession::quoted(const std::string &path) {
  std::string text = "\"";
  for (char c : path) text += c == '"' ? std::string("\"\"") : std::string(1, c);
  return text + "\"";
}

bool FtpSession::writable(int refusal) {
  if (account_ && account_->writable) return true;
  control_.reply(refusal, "Permission denied (read-only account).");
  return false;
}

void FtpSession::failed(const std::string &what, int code) {
  int error = errno;
  std::string reason = error == ENOENT                     ? "No such file or folder"
                       : error == EEXIST                   ? "Already exists"
                       : error == ENOTDIR                  ? "Not a folder"
                       : error == EISDIR                   ? "Is a folder"
                       : error == ENOTEMPTY                ? "Folder not empty"
                       : error == EACCES || error == EPERM ? "Permission denied"
                       : error == EXDEV                    ? "Cannot move across file systems"
                                                           : std::strerror(error);
  control_.reply(code, what.substr(0, what.find(' ')) + " failed: " + reason + ".");
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
  if (!renameFrom_) return control_.reply(503, "Bad sequence of commands: send RNFR first.");
  std::string source = *renameFrom_;
  renameFrom_.reset();
  if (!writable(553)) return;
  Jail::Entry from, to;
  if (!jail_.entry(source, from) || !jail_.entry(path(argument), to) ||
      ::renameat(from.folder.get(), from.name.c_str(), to.folder.get(), to.name.c_str()) != 0)
    return failed("RNTO " + argument, 553);
  control_.reply(250, "Rename successful.");
}

void FtpSession::size(const std::string &argument) {
  std::string target = path(argument);
  struct stat status {};
  if (!jail_.stat(target, status)) return failed("SIZE " + argument);
  if (!S_ISREG(status.st_mode)) return control_.reply(550, "SIZE failed: not a plain file.");
  if (!ascii_) return control_.reply(213, std::to_string(status.st_size));
  // RFC 3659 4: exactly what RETR would send, so in TYPE A the file is read
  // through and converted as RETR converts it.
  Fd file = jail_.open(target, O_RDONLY);
  if (!file.valid()) return failed("SIZE " + argument);
  std::vector<char> chunk(256 * 1024);
  std::string converted;
  char previous = 0;
  uint64_t total = 0;
  for (;;) {
    ssize_t got = ::read(file.get(), chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return failed("SIZE " + argument);
    if (got == 0) break;
    converted.clear();
    appendAsciiOut(converted, chunk.data(), static_cast<size_t>(got), previous);
    total += converted.size();
  }
  control_.reply(213, std::to_string(total));
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

}  // namespace ftp
