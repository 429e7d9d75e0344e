// Live migration (SDK 1.6): a control session between commands moves to
// newer plugin code at a reload, with its login, folder and parameters, on
// the same connection (CarriedSession is what it carries).
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "CommandTable.h"

namespace ftp {

bool FtpSession::mayHandOver() const {
  return handover_.fd >= 0 && !done_ && control_.ok() && !control_.stream().encrypted() &&
         !data_.ready();
}

CarriedSession FtpSession::carried() const {
  CarriedSession state;
  if (account_) {
    // A users-file account with an anonymous name can never log in as itself.
    bool anonymous = isAnonymousName(account_->name);
    state.login = anonymous ? CarriedSession::Login::Anonymous : CarriedSession::Login::Account;
    if (!anonymous) state.account = account_->name;
  }
  state.pendingUser = pendingUser_;
  state.failures = failures_;
  state.cwd = cwd_;
  state.ascii = ascii_;
  state.facts = facts_;
  state.restart = static_cast<uint64_t>(restart_);
  state.renameFrom = renameFrom_;
  state.epsvOnly = epsvOnly_;
  state.pbszGiven = pbszGiven_;
  state.protectData = protectData_;
  state.idleMs = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - idleSince_)
                                           .count());
  state.unread = control_.unread();
  return state;
}

std::optional<RestoredSession> FtpSession::restore(const ServerContext &server,
                                                   CarriedSession state, std::string &why) {
  using Login = CarriedSession::Login;
  // What older code carries is a clear control connection: TLS sessions stay.
  if (state.pbszGiven || state.protectData) {
    why = "PBSZ or PROT without TLS";
    return std::nullopt;
  }
  if (server.options.tls == TlsMode::Require && (state.login != Login::None || state.pendingUser)) {
    why = "tls = require, and the session is in the clear";
    return std::nullopt;
  }
  RestoredSession restored{std::move(state), std::nullopt, {}};
  const CarriedSession &carried = restored.state;
  if (carried.login == Login::None) return restored;  // no folder to check before a login
  if (carried.login == Login::Anonymous) {
    if (server.options.anonymous != Anonymous::Read) {
      why = "anonymous logins are off";
      return std::nullopt;
    }
    restored.account = anonymousAccount();
  } else if (!(restored.account = server.users.account(carried.account))) {
    why = "the account " + carried.account + " is no longer in option.users";
    return std::nullopt;
  }
  try {
    restored.jail = homeOf(server, *restored.account);
  } catch (const std::exception &error) {
    why = "user " + restored.account->name + ": " + error.what();
    return std::nullopt;
  }
  if (!restored.jail.open(carried.cwd, O_PATH | O_DIRECTORY).valid()) {
    why =
        "user " + restored.account->name + ": folder " + carried.cwd + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return restored;
}

void FtpSession::goOnFrom(RestoredSession restored) {
  CarriedSession &state = restored.state;
  account_ = std::move(restored.account);
  jail_ = std::move(restored.jail);
  pendingUser_ = std::move(state.pendingUser);
  failures_ = state.failures;
  cwd_ = std::move(state.cwd);
  ascii_ = state.ascii;
  facts_ = state.facts;
  restart_ = static_cast<off_t>(state.restart);
  renameFrom_ = std::move(state.renameFrom);
  epsvOnly_ = state.epsvOnly;
  // The idle time goes on from where it was (a reload does not extend it).
  auto idle = std::min<uint64_t>(
      state.idleMs, static_cast<uint64_t>(std::chrono::milliseconds(options_.idleTimeout).count()));
  idleSince_ =
      std::chrono::steady_clock::now() - std::chrono::milliseconds(static_cast<int64_t>(idle));
}

}  // namespace ftp
