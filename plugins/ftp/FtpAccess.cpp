// Access control: logging in and out, and FTPS (RFC 959 4.1.1, RFC 4217).
#include <wharf/wharf.h>

#include <cerrno>
#include <cstdint>
#include <thread>

#include "CommandTable.h"
#include "Listing.h"
#include "TlsContext.h"

namespace ftp {

std::span<const FtpSession::Command> FtpSession::accessCommands() {
  static const Command kCommands[] = {
      {"USER", &S::user, Arg::Required, true, "USER <name>"},
      {"PASS", &S::pass, Arg::Optional, true, "PASS <password>"},
      {"ACCT", &S::acct, Arg::Required, true, "ACCT <account>"},
      {"REIN", &S::rein, Arg::None, true, "REIN (log out)"},
      {"QUIT", &S::quit, Arg::None, true, "QUIT"},
      {"AUTH", &S::auth, Arg::Required, true, "AUTH TLS"},
      {"PBSZ", &S::pbsz, Arg::Required, true, "PBSZ 0"},
      {"PROT", &S::prot, Arg::Required, true, "PROT P|C"},
      {"CCC", &S::ccc, Arg::None, true, "CCC (refused: the control connection stays protected)"},
  };
  return kCommands;
}

Account FtpSession::anonymousAccount() {
  return {"anonymous", "", false};
}

Jail FtpSession::homeOf(const ServerContext &server, const Account &account) {
  return server.root.inside(account.home.empty() ? "/" : account.home);
}

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
  if (!pendingUser_) return control_.reply(503, "Bad sequence of commands: send USER first.");
  std::string name = *pendingUser_;
  pendingUser_.reset();
  std::optional<Account> account;
  bool locked = false;
  if (isAnonymousName(name)) {
    if (options_.anonymous == Anonymous::Read) account = anonymousAccount();
  } else if (!(locked = server_.lockout.locked(name))) {  // locked: not even checked
    account = server_.users.verify(name, argument);
  }
  if (account) {
    try {
      jail_ = homeOf(server_, *account);
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
    if (server_.lockout.failed(name, server_.users.has(name)))
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
  unsigned long long size = 0;
  if (!parseNumber(argument, UINT32_MAX, size))  // RFC 2228 3: PBSZ <decimal-integer>
    return control_.reply(501, "Syntax: PBSZ 0");
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
  if (level == "S" || level == "E")  // RFC 2228's levels that TLS does not have (RFC 4217 9)
    return control_.reply(536, "PROT " + level + " not supported by TLS (use P or C).");
  control_.reply(504, "PROT " + argument + " not supported (use P or C).");
}

void FtpSession::ccc(const std::string &) {
  // RFC 2228 3: CCC must come over a protected connection (533 if not); this
  // server's policy keeps it protected once it is (534).
  if (!control_.stream().encrypted())
    return control_.reply(533, "CCC needs a protected control connection (AUTH TLS).");
  control_.reply(534, "The control connection stays protected.");
}

}  // namespace ftp
