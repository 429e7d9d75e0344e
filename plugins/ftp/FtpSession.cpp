#include "FtpSession.h"

#include <sys/socket.h>
#include <wharf/wharf.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "CommandTable.h"
#include "Names.h"

namespace ftp {

// The one list of commands, gathered from the families' files (sorted, as
// HELP shows it): dispatch and HELP read it.
std::span<const FtpSession::Command> FtpSession::commands() {
  static const std::vector<Command> kCommands = [] {
    std::vector<Command> all;
    for (auto family : {accessCommands(), informationCommands(), filesCommands(),
                        parametersCommands(), transfersCommands(), listingsCommands()})
      all.insert(all.end(), family.begin(), family.end());
    std::sort(all.begin(), all.end(),
              [](const Command &a, const Command &b) { return std::strcmp(a.verb, b.verb) < 0; });
    return all;
  }();
  return kCommands;
}

const FtpSession::Command *FtpSession::find(const std::string &verb) {
  for (const auto &command : commands())
    if (verb == command.verb) return &command;
  return nullptr;
}

FtpSession::FtpSession(const ServerContext &server, int controlFd, const sockaddr_storage &client,
                       DataChannel::ClientOf dataClient, Log log, Transfer::CountBytes countBytes,
                       Handover handover, std::optional<RestoredSession> restored)
    : server_(server),
      options_(server.options),
      control_(restored ? Control(controlFd, restored->state.unread) : Control(controlFd)),
      handover_(std::move(handover)),
      greet_(!restored),
      // Paths in log lines come from clients: control characters never reach the log raw.
      log_([log = std::move(log)](int level, const std::string &text) {
        log(level, escapedForLog(text));
      }),
      countBytes_(std::move(countBytes)),
      data_(options_.passiveFirst, options_.passiveLast, std::move(dataClient),
            [this](const std::string &message) { log_(WHARF_LOG_WARNING, message); }) {
  socklen_t length = sizeof local_;
  ::getsockname(controlFd, reinterpret_cast<sockaddr *>(&local_), &length);
  peer_ = client;
  control_.setStallTimeout(options_.idleTimeout);
  if (restored) goOnFrom(std::move(*restored));
}

void FtpSession::run() {
  if (greet_) control_.reply(220, options_.banner);
  while (!done_ && control_.ok()) {
    std::string line;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        idleSince_ + options_.idleTimeout - std::chrono::steady_clock::now());
    auto passive = data_.passiveLeft(options_.dataTimeout);
    bool forPassive = passive && *passive < wait;
    if (forPassive) wait = *passive;
    int handoverFd = mayHandOver() ? handover_.fd : -1;
    switch (control_.readLine(line, std::max(wait, std::chrono::milliseconds(0)), handoverFd)) {
      case Control::Read::Line:
        dispatch(line);
        idleSince_ = std::chrono::steady_clock::now();
        break;
      case Control::Read::Timeout:
        if (forPassive) {  // an unused passive port goes; the session stays
          data_.closeIdlePassive();
          break;
        }
        control_.reply(421, "Timeout: no command for " +
                                std::to_string(options_.idleTimeout.count()) + " s. Goodbye.");
        return;
      case Control::Read::Closed:  // the client left (nothing reads this), or wharfd is closing
        return control_.reply(421, "Service not available, closing control connection.");
      case Control::Read::TooLong:
        control_.reply(500, "Command line too long.");
        break;
      case Control::Read::Invalid:
        control_.reply(500, "Command line holds a control character or is not UTF-8.");
        break;
      case Control::Read::HandoverAsked:
        if (handover_.offer(carried().encode())) return;  // the newer code serves it from here
        break;                                            // refused: served on here
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
  if (command == nullptr)  // RFC 959's wordings: SMNT is a command this server leaves out
    return verb == "SMNT" ? control_.reply(502, "Command not implemented.")
                          : control_.reply(500, "Syntax error, command unrecognized.");
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

}  // namespace ftp
