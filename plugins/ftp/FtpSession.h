// One FTP control connection from greeting to QUIT: the command table, the
// login state, the current folder and the transfers. Runs on the session's
// own thread (or process) and blocks.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "AccountLockout.h"
#include "CarriedSession.h"
#include "Control.h"
#include "DataChannel.h"
#include "FtpOptions.h"
#include "Jail.h"
#include "Listing.h"
#include "Transfer.h"
#include "Users.h"

namespace ftp {

class TlsContext;

// What every session of a listener shares (read-only).
struct ServerContext {
  const FtpOptions &options;
  const Users &users;
  const Jail &root;
  const TlsContext *tls;  // null: no FTPS
  AccountLockout &lockout;
};

// Live migration (SDK 1.6): the descriptor the host makes readable when a
// reload asks the session to move to newer code (-1: never), and how to
// offer it the session's state; true: the newer code took the session.
struct Handover {
  int fd = -1;
  std::function<bool(const std::string &state)> offer;
};

// A session carried from older code, checked against this server: its
// account looked up again in these users, its home and folder opened again
// in this root.
struct RestoredSession {
  CarriedSession state;
  std::optional<Account> account;
  Jail jail;
};

class FtpSession {
 public:
  using Log = std::function<void(int level, const std::string &)>;  // level: WHARF_LOG_*

  // Nullopt, with the reason in `why`, if this server would not have the
  // session: its account is gone or no longer allowed (anonymous logins
  // turned off, tls = require), or its home or folder cannot be opened.
  static std::optional<RestoredSession> restore(const ServerContext &server, CarriedSession state,
                                                std::string &why);

  // `client`: the control connection's client; `dataClient` judges the
  // passive data connections' (both as the host sees them: behind a load
  // balancer, the clients its PROXY headers name). `countBytes` hears the
  // data connections' bytes as they flow. `restored`: the session goes on
  // from where older code left it.
  FtpSession(const ServerContext &server, int controlFd, const sockaddr_storage &client,
             DataChannel::ClientOf dataClient, Log log, Transfer::CountBytes countBytes,
             Handover handover = {}, std::optional<RestoredSession> restored = std::nullopt);
  // Greets the client (unless the session is restored: the client is
  // mid-session) and serves it until it ends or newer code takes it; then
  // it returns at once, having written nothing more.
  void run();

 private:
  struct Command;  // CommandTable.h
  static std::span<const Command> commands();
  // Each family's rows, in its own file (FtpAccess.cpp, FtpInformation.cpp, ...).
  static std::span<const Command> accessCommands();
  static std::span<const Command> informationCommands();
  static std::span<const Command> filesCommands();
  static std::span<const Command> parametersCommands();
  static std::span<const Command> transfersCommands();
  static std::span<const Command> listingsCommands();
  static const Command *find(const std::string &verb);

  void dispatch(const std::string &line);

  // Whether the session may move to newer code now, between commands. Not
  // with a data connection prepared (its listener or target is this code's)
  // nor over TLS (OpenSSL's state cannot be carried: the session stays on
  // its code and drains). A reply is never half-written here: reply() writes
  // all of it or the session ends.
  bool mayHandOver() const;
  CarriedSession carried() const;
  void goOnFrom(RestoredSession restored);  // takes what the constructor has not
  static Account anonymousAccount();
  // The jail of `account`'s home; throws std::runtime_error if it cannot be opened.
  static Jail homeOf(const ServerContext &server, const Account &account);

  // Access and login.
  void user(const std::string &argument);
  void pass(const std::string &argument);
  void acct(const std::string &argument);
  void rein(const std::string &argument);
  void quit(const std::string &argument);
  void auth(const std::string &argument);
  void pbsz(const std::string &argument);
  void prot(const std::string &argument);
  void ccc(const std::string &argument);
  // Information.
  void syst(const std::string &argument);
  void feat(const std::string &argument);
  void opts(const std::string &argument);
  void help(const std::string &argument);
  void stat(const std::string &argument);
  void noop(const std::string &argument);
  void site(const std::string &argument);
  // Folders and files.
  void pwd(const std::string &argument);
  void cwd(const std::string &argument);
  void cdup(const std::string &argument);
  void mkd(const std::string &argument);
  void rmd(const std::string &argument);
  void dele(const std::string &argument);
  void rnfr(const std::string &argument);
  void rnto(const std::string &argument);
  void size(const std::string &argument);
  void mdtm(const std::string &argument);
  void mfmt(const std::string &argument);
  // Transfer parameters.
  void type(const std::string &argument);
  void stru(const std::string &argument);
  void mode(const std::string &argument);
  void allo(const std::string &argument);
  void rest(const std::string &argument);
  void port(const std::string &argument);
  void eprt(const std::string &argument);
  void pasv(const std::string &argument);
  void epsv(const std::string &argument);
  void abor(const std::string &argument);
  // Transfers.
  void retr(const std::string &argument);
  void stor(const std::string &argument);
  void stou(const std::string &argument);
  void appe(const std::string &argument);
  void list(const std::string &argument);
  void nlst(const std::string &argument);
  void mlsd(const std::string &argument);
  void mlst(const std::string &argument);

  // `started`: the 150 reply's text (STOU names its file there).
  void store(const std::string &path, bool append, const std::string &started);
  void sendListing(const std::string &argument, Transfer::ListStyle style);
  // Opens the data connection and says 150 `started`; nullopt after replying why not.
  std::optional<Transfer> beginTransfer(const std::string &started);
  // "Opening BINARY mode data connection for `what`."
  std::string opening(const std::string &what) const;
  // A command that came during a transfer, answered at once: those that need
  // the data connection (or would change the control connection's TLS) are
  // refused while it is busy; the others run as at any time.
  Transfer::Next answerDuringTransfer(const std::string &line);
  // One line per RETR or STOR: path, bytes, complete or why not, and the user.
  void logTransfer(const char *command, const std::string &target, uint64_t bytes,
                   Transfer::Outcome outcome);
  void endTransfer(Transfer::Outcome outcome, const std::string &done = "Transfer complete.");
  bool useActive(const sockaddr_storage &target);

  std::string path(const std::string &argument) const { return Jail::resolve(cwd_, argument); }
  // Replies `refusal` when not. RFC 959 5.4 has 553, not 550, for STOR, APPE, STOU and RNTO.
  bool writable(int refusal = 550);
  void failed(const std::string &what, int code = 550);  // `code` with errno's reason
  // Names a listing left out (control characters), logged without the names.
  void logHidden(const std::string &folder, size_t hidden);
  // What LIST shows after "->" for the symlink `name`: its text, unless that
  // could name a place outside the jail (absolute, or with ".."): then nothing.
  static std::string shownLink(int folder, const char *name);
  static std::string quoted(const std::string &path);

  const ServerContext &server_;
  const FtpOptions &options_;
  Control control_;
  Handover handover_;
  bool greet_;
  std::chrono::steady_clock::time_point idleSince_ = std::chrono::steady_clock::now();
  Log log_;
  Transfer::CountBytes countBytes_;
  sockaddr_storage local_{}, peer_{};
  DataChannel data_;

  std::optional<std::string> pendingUser_;
  std::optional<Account> account_;
  Jail jail_;
  std::string cwd_ = "/";
  unsigned failures_ = 0;
  bool ascii_ = false;
  unsigned facts_ = kAllFacts;  // what MLST and MLSD send (OPTS MLST)
  off_t restart_ = 0;
  std::optional<std::string> renameFrom_;
  std::string transferUser_;  // whom the transfer running is for (a USER may come meanwhile)
  bool epsvOnly_ = false;     // after EPSV ALL
  bool protectData_ = false;  // PROT P
  bool pbszGiven_ = false;
  bool done_ = false;
};

}  // namespace ftp
