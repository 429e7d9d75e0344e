// Listings: LIST, NLST, and RFC 3659 MLSD and MLST.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wharf/wharf.h>

#include <cerrno>
#include <ctime>

#include "CommandTable.h"
#include "Listing.h"
#include "Names.h"

namespace ftp {

std::span<const FtpSession::Command> FtpSession::listingsCommands() {
  static const Command kCommands[] = {
      {"LIST", &S::list, Arg::Optional, false, "LIST [path]"},
      {"NLST", &S::nlst, Arg::Optional, false, "NLST [path]"},
      {"MLSD", &S::mlsd, Arg::Optional, false, "MLSD [folder]"},
      {"MLST", &S::mlst, Arg::Optional, false, "MLST [path]"},
  };
  return kCommands;
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
  const std::string command = style == Transfer::ListStyle::Long    ? "LIST "
                              : style == Transfer::ListStyle::Names ? "NLST "
                                                                    : "MLSD ";
  // What the listing reads, as it is now: a USER, PASS, REIN or OPTS answered
  // during the transfer changes the session's, not this listing's.
  Jail jail;
  try {
    jail = jail_.inside("/");
  } catch (const std::exception &) {
    return failed(command + argument);
  }
  const bool writable = account_ && account_->writable;
  const unsigned facts = facts_;
  struct stat status {};
  if (!jail.stat(target, status)) return failed(command + argument);
  time_t now = ::time(nullptr);
  auto line = [&](const std::string &name, const struct stat &entry, const std::string &link) {
    switch (style) {
      case Transfer::ListStyle::Long:
        return listLine(name, entry, now, link);
      case Transfer::ListStyle::Names:
        return name + "\r\n";
      case Transfer::ListStyle::Facts:
        return factsOf(entry, writable, facts) + name + "\r\n";
    }
    return std::string();
  };
  if (!S_ISDIR(status.st_mode)) {
    auto transfer = beginTransfer(opening("file list"));
    if (!transfer) return;
    Transfer::Outcome outcome = transfer->sendText(line(
        style == Transfer::ListStyle::Names ? withoutListOptions(argument) : Jail::leaf(target),
        status, ""));
    if (outcome == Transfer::Outcome::Done) outcome = transfer->flush();
    transfer->finish();
    return endTransfer(outcome);
  }
  Fd probe = jail.open(target, O_RDONLY | O_DIRECTORY);  // refuse before the data connection
  if (!probe.valid()) return failed(command + argument);
  probe.reset();
  auto transfer = beginTransfer(opening("file list"));
  if (!transfer) return;
  Transfer::Outcome outcome = Transfer::Outcome::Done;
  size_t count = 0, hidden = 0;
  jail.forEachEntry(
      target,
      [&](const char *name, const struct stat &entry, int folder) {
        struct stat shown = entry;
        std::string link;
        if (S_ISLNK(entry.st_mode) && style == Transfer::ListStyle::Long)
          link = shownLink(folder, name);
        // Facts describe what a link leads to, resolved inside the jail.
        if (S_ISLNK(entry.st_mode) && style == Transfer::ListStyle::Facts &&
            !jail.stat(Jail::resolve(target, name), shown))
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
