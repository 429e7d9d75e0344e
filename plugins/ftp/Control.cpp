#include "Control.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <optional>

#include "Names.h"

namespace ftp {
namespace {

constexpr unsigned char kIac = 0xFF;

// WILL, WONT, DO and DONT name an option in the byte after them.
bool negotiatesOption(unsigned char command) {
  return command >= 0xFB && command <= 0xFE;
}

// A byte no command line starts with: a control character, or not ASCII.
bool strayByte(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte >= 0x7F;
}

// An IP or Synch that lost a byte (sent urgent to a server without
// SO_OOBINLINE, or garbled by the client) leaves bytes before the ABOR behind
// it: a DM, a 0xFF. The commands a client sends to interrupt or leave a
// session must get through such a line, as with pyftpdlib: stray bytes, then
// ABOR, STAT or QUIT, are that command.
std::optional<std::string> verbAfterStrayBytes(const std::string &line) {
  constexpr size_t kVerb = 4;
  if (line.size() <= kVerb) return std::nullopt;
  std::string verb = verbOf(line.substr(line.size() - kVerb));
  if (verb != "ABOR" && verb != "STAT" && verb != "QUIT") return std::nullopt;
  if (!std::all_of(line.begin(), line.end() - kVerb, strayByte)) return std::nullopt;
  return verb;
}

}  // namespace

std::string verbOf(const std::string &line) {
  std::string verb = line.substr(0, line.find(' '));
  for (auto &c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return verb;
}

void TelnetFilter::append(std::string &out, const char *data, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    auto byte = static_cast<unsigned char>(data[i]);
    switch (state_) {
      case State::Data:
        if (byte == kIac)
          state_ = State::Command;
        else
          out += data[i];
        break;
      case State::Command:
        if (byte == kIac) out += data[i];
        state_ = negotiatesOption(byte) ? State::Option : State::Data;
        break;
      case State::Option:
        state_ = State::Data;
        break;
    }
  }
}

Control::Control(int fd) : fd_(fd), stream_(std::make_unique<PlainStream>(fd)) {
  int on = 1;
  // Clients send the Synch before ABOR, or (Python's ftplib) the ABOR line
  // itself, as urgent data: without this the kernel takes the urgent byte (a
  // DM, an IAC, the LF) out of the stream.
  ::setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &on, sizeof on);
}

Control::Control(int fd, Unread unread) : Control(fd) {
  input_ = std::move(unread.input);
  discarding_ = unread.discarding;
  telnet_ = TelnetFilter(unread.telnet);
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
    line = verbAfterStrayBytes(raw).value_or(std::move(raw));
    // A control character (a NUL, a CR but in CR LF: RFC 854's NVT) or bytes
    // that are not UTF-8 (RFC 2640) name nothing this server serves.
    if (!listableName(line)) return Read::Invalid;
    return Read::Line;
  }
}

Control::Filled Control::fill(std::chrono::milliseconds timeout, int handoverFd) {
  for (;;) {
    // The ring first: a client that keeps sending cannot hold the session on older code.
    pollfd ring{handoverFd, POLLIN, 0};
    if (handoverFd >= 0 && ::poll(&ring, 1, 0) > 0) return Filled::HandoverAsked;
    char buffer[4096];
    ssize_t got = stream_->read(buffer, sizeof buffer);
    if (got > 0) {
      telnet_.append(input_, buffer, static_cast<size_t>(got));
      return Filled::Some;
    }
    if (got != Stream::kWouldBlock) return Filled::Closed;
    pollfd ready[2] = {{fd_, stream_->waitEvents(true), 0}, {handoverFd, POLLIN, 0}};
    int count = ::poll(ready, handoverFd < 0 ? 1 : 2, static_cast<int>(timeout.count()));
    if (count < 0 && errno == EINTR) continue;
    if (count == 0) return Filled::Timeout;
    if (count < 0) return Filled::Closed;
  }
}

Control::Read Control::readLine(std::string &line, std::chrono::milliseconds timeout,
                                int handoverFd) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto taken = takeLine(line)) return *taken;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    switch (fill(std::max(left, std::chrono::milliseconds(0)), handoverFd)) {
      case Filled::Some:
        break;
      case Filled::Closed:
        return Read::Closed;
      case Filled::Timeout:
        return Read::Timeout;
      case Filled::HandoverAsked:
        return Read::HandoverAsked;
    }
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
