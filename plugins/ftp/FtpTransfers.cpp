// File transfers: RETR, STOR, APPE, STOU and ABOR, over the data connection.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wharf/wharf.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>
#include <set>
#include <string>

#include "CommandTable.h"
#include "TlsContext.h"

namespace ftp {
namespace {

// How a transfer ended, for its log line: a cut one must never read as a success.
const char *outcomeText(Transfer::Outcome outcome) {
  switch (outcome) {
    case Transfer::Outcome::Done:
      return "complete";
    case Transfer::Outcome::Aborted:
      return "incomplete (ABOR)";
    case Transfer::Outcome::DataFailed:
      return "incomplete (the data connection failed)";
    case Transfer::Outcome::ControlGone:
      return "incomplete (the control connection went)";
    case Transfer::Outcome::TimedOut:
      return "incomplete (data_timeout)";
    case Transfer::Outcome::LocalError:
      return "incomplete (local error)";
  }
  return "incomplete";
}

}  // namespace

std::span<const FtpSession::Command> FtpSession::transfersCommands() {
  static const Command kCommands[] = {
      {"ABOR", &S::abor, Arg::None, false, "ABOR (abort the transfer)"},
      {"RETR", &S::retr, Arg::Required, false, "RETR <file>"},
      {"STOR", &S::stor, Arg::Required, false, "STOR <file>"},
      {"APPE", &S::appe, Arg::Required, false, "APPE <file>"},
      {"STOU", &S::stou, Arg::None, false, "STOU"},
  };
  return kCommands;
}

std::string FtpSession::opening(const std::string &what) const {
  return "Opening " + std::string(ascii_ ? "ASCII" : "BINARY") + " mode data connection for " +
         what + ".";
}

std::optional<Transfer> FtpSession::beginTransfer(const std::string &started) {
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
  control_.reply(150, started);
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
  transferUser_ = account_ ? account_->name : std::string("-");
  return Transfer(control_, std::move(socket), std::move(stream), options_.dataTimeout, countBytes_,
                  [this](const std::string &line) { return answerDuringTransfer(line); });
}

Transfer::Next FtpSession::answerDuringTransfer(const std::string &line) {
  static const std::set<std::string> kNeedData = {"PORT", "EPRT", "PASV", "EPSV", "LIST", "NLST",
                                                  "MLSD", "RETR", "STOR", "APPE", "STOU"};
  std::string verb = verbOf(line);
  if (kNeedData.count(verb) != 0 && upper(line) != "EPSV ALL")
    control_.reply(425, "The data connection is busy: a transfer is running (ABOR ends it).");
  else if (verb == "AUTH" || verb == "REST")  // REST: the next data setup would clear it
    control_.reply(503, "Not during a transfer.");
  else
    dispatch(line);
  if (!done_) return Transfer::Next::ReadOn;
  // QUIT: the data completes, whatever the client does with the control
  // connection now; anything else that ends the session (too many failed
  // logins) ends the transfer too.
  return verb == "QUIT" ? Transfer::Next::ReadNoMore : Transfer::Next::End;
}

void FtpSession::logTransfer(const char *command, const std::string &target, uint64_t bytes,
                             Transfer::Outcome outcome) {
  bool kept = outcome == Transfer::Outcome::Done || std::string_view(command) != "STOR";
  log_(WHARF_LOG_INFO, std::string(command) + " " + target + ": " + std::to_string(bytes) +
                           " bytes, " + outcomeText(outcome) + (kept ? "" : ", not kept") +
                           ", user " + transferUser_);
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
    case Transfer::Outcome::ControlGone:  // the client left, or wharfd is closing the session
      done_ = true;
      control_.reply(426, "Connection closed; transfer aborted.");
      return control_.reply(421, "Service not available, closing control connection.");
  }
}

void FtpSession::abor(const std::string &) {
  data_.clear();
  control_.reply(225, "No transfer to abort.");
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
      beginTransfer(opening(target + " (" + std::to_string(status.st_size - offset) + " bytes)"));
  if (!transfer) return;
  Transfer::Outcome outcome = transfer->sendFile(file.get(), offset, ascii_, options_.downloads);
  transfer->finish();
  logTransfer("RETR", target, transfer->bytes(), outcome);
  endTransfer(outcome);
}

void FtpSession::stor(const std::string &argument) {
  std::string target = path(argument);
  store(target, false, opening(target));
}

void FtpSession::appe(const std::string &argument) {
  if (restart_ > 0) return control_.reply(503, "REST cannot be used with APPE (it appends).");
  std::string target = path(argument);
  store(target, true, opening(target));
}

void FtpSession::stou(const std::string &) {
  if (restart_ > 0) return control_.reply(503, "REST cannot be used with STOU (a new file).");
  if (!writable(553)) return;
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = "wharf-" + std::to_string(::time(nullptr)) + "-" +
                       std::to_string(::getpid()) + "-" + std::to_string(counter++);
    std::string target = path(name);
    struct stat status {};
    // RFC 1123 4.1.2.9: the 150 reply names the file, in this form.
    if (!jail_.stat(target, status)) return store(target, false, "FILE: " + name);
  }
  control_.reply(450, "Cannot find a unique name.");
}

// Overwrites go to an anonymous file in the same folder (O_TMPFILE), named
// into place only once complete: an interrupted upload leaves the old file
// whole. REST and APPE write in place, as resuming requires.
void FtpSession::store(const std::string &target, bool append, const std::string &started) {
  off_t offset = restart_;  // dispatch() clears it after this command
  if (!writable(553)) return;
  Jail::Entry entry;
  if (!jail_.entry(target, entry)) return failed("STOR " + target, 553);
  if (entry.name.size() > NAME_MAX)  // refused before the data connection, not after the data
    return control_.reply(553,
                          "File name too long (at most " + std::to_string(NAME_MAX) + " bytes).");
  mode_t mode = 0666 & ~options_.umask;
  Fd file;
  bool atomic = !append && offset == 0;
  if (atomic) {
    // The rename at the end cannot replace a folder: refused now, not after the data.
    struct stat existing {};
    if (::fstatat(entry.folder.get(), entry.name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(existing.st_mode)) {
      errno = EISDIR;
      return failed("STOR " + target, 553);
    }
    file = Fd(::openat(entry.folder.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode));
  } else {
    file = jail_.open(target, O_WRONLY | O_CREAT | (append ? O_APPEND : 0), mode);
    struct stat status {};
    if (file.valid() && (::fstat(file.get(), &status) != 0 || !S_ISREG(status.st_mode)))
      return control_.reply(553, "STOR failed: not a plain file.");
    if (file.valid() && offset > 0) {
      if (offset > status.st_size)
        return control_.reply(554, "REST offset " + std::to_string(offset) + " is past the end (" +
                                       std::to_string(status.st_size) + " bytes).");
      if (::ftruncate(file.get(), offset) != 0 || ::lseek(file.get(), offset, SEEK_SET) < 0)
        return failed("STOR " + target, 451);
    }
  }
  if (!file.valid()) return failed("STOR " + target, 553);
  auto transfer = beginTransfer(started);
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
  logTransfer("STOR", target, transfer->bytes(), outcome);
  endTransfer(outcome);
}

}  // namespace ftp
