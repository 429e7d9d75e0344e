#include "Control.h"

#include <poll.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <optional>

#include "Names.h"

namespace ftp {
namespace {

// Telnet commands (IAC x; IAC IAC is a literal 0xFF) that clients put before
// ABOR (IAC IP, IAC DM) are not part of the command.
std::string withoutTelnet(const std::string &line) {
  std::string clean;
  for (size_t i = 0; i < line.size(); ++i) {
    if (static_cast<unsigned char>(line[i]) == 0xFF && i + 1 < line.size()) {
      if (static_cast<unsigned char>(line[++i]) == 0xFF) clean += line[i];
      continue;
    }
    clean += line[i];
  }
  return clean;
}

}  // namespace

std::string verbOf(const std::string &line) {
  std::string verb = line.substr(0, line.find(' '));
  for (auto &c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return verb;
}

Control::Control(int fd) : fd_(fd), stream_(std::make_unique<PlainStream>(fd)) {
  int on = 1;
  // ABOR may come as urgent data (Python's ftplib sends the line MSG_OOB):
  // keep the urgent byte in the stream.
  ::setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &on, sizeof on);
}

std::optional<Control::Read> Control::takeLine(std::string &line) {
  for (;;) {
    size_t newline = input_.find('\n');
    if (newline == std::string::npos) {
      if (input_.size() > kMaxLine) {
        input_.clear();
        if (!discarding_) {
          discarding_ = true;
          return Read::TooLong;
        }
      }
      return std::nullopt;
    }
    std::string raw = input_.substr(0, newline);
    input_.erase(0, newline + 1);
    if (discarding_ || raw.size() > kMaxLine) {
      bool first = !discarding_;
      discarding_ = false;
      if (first) return Read::TooLong;
      continue;  // the end of a line already answered
    }
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    line = withoutTelnet(raw);
    if (line.find('\0') != std::string::npos || !validUtf8(line)) return Read::Invalid;
    return Read::Line;
  }
}

bool Control::lineReady() {
  if (!early_.empty() || input_.find('\n') != std::string::npos) return true;
  bool timedOut = false;
  return fill(std::chrono::milliseconds(0), timedOut) && input_.find('\n') != std::string::npos;
}

bool Control::fill(std::chrono::milliseconds timeout, bool &timedOut) {
  timedOut = false;
  for (;;) {
    char buffer[4096];
    ssize_t got = stream_->read(buffer, sizeof buffer);
    if (got > 0) {
      input_.append(buffer, static_cast<size_t>(got));
      return true;
    }
    if (got != Stream::kWouldBlock) return false;
    pollfd ready{fd_, stream_->waitEvents(true), 0};
    int count = ::poll(&ready, 1, static_cast<int>(timeout.count()));
    if (count < 0 && errno == EINTR) continue;
    if (count == 0) {
      timedOut = true;
      return false;
    }
    if (count < 0) return false;
  }
}

Control::Read Control::readLine(std::string &line, std::chrono::milliseconds timeout) {
  if (!early_.empty()) {
    line = std::move(early_.front());
    early_.pop_front();
    return Read::Line;
  }
  return readFromConnection(line, timeout);
}

Control::Read Control::readFromConnection(std::string &line, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto taken = takeLine(line)) return *taken;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    bool timedOut = false;
    if (!fill(std::max(left, std::chrono::milliseconds(0)), timedOut))
      return timedOut ? Read::Timeout : Read::Closed;
  }
}

void Control::reply(int code, const std::string &text) {
  std::string message;
  size_t start = 0;
  for (;;) {
    size_t newline = text.find('\n', start);
    if (newline == std::string::npos) {
      message += std::to_string(code) + " " + text.substr(start) + "\r\n";
      break;
    }
    std::string part = text.substr(start, newline - start);
    // Continuation lines that start with a digit would end the reply early.
    message += start == 0 ? std::to_string(code) + "-" + part + "\r\n" : " " + part + "\r\n";
    start = newline + 1;
  }
  if (!ok_) return;
  Stream::Written written = stream_->writeAll(message.data(), message.size(), stallTimeout_);
  ok_ = written == Stream::Written::All;
  stalled_ = written == Stream::Written::Stalled;
}

}  // namespace ftp
