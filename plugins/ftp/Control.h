// The control connection: reads command lines (bounded, Telnet commands taken
// out of the stream, checked as UTF-8 without control characters) and writes
// replies, in the clear or over TLS after AUTH TLS.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "Stream.h"

namespace ftp {

// The command of a line, upper-cased: "abor" and "ABOR x" give "ABOR".
std::string verbOf(const std::string &line);

// Takes Telnet commands (RFC 854) out of the control stream, as clients send
// IP and Synch before ABOR (RFC 959 4.1.3): IAC and the command after it go,
// IAC IAC is a data byte 0xFF, and option negotiation (IAC WILL/WONT/DO/DONT)
// takes its option byte along, unanswered (a refusal would reach clients that
// read replies without Telnet, as Python's ftplib, as garbage): no option is
// ever agreed. A sequence split between two reads ends in the second.
class TelnetFilter {
 public:
  // Appends the data bytes among `data` to `out`.
  void append(std::string &out, const char *data, size_t length);

 private:
  enum class State { Data, Command, Option };  // Command: after IAC; Option: after IAC WILL
  State state_ = State::Data;
};

class Control {
 public:
  static constexpr size_t kMaxLine = 4096;

  enum class Read { Line, Timeout, Closed, TooLong, Invalid };

  explicit Control(int fd);

  // Waits up to `timeout` for a whole line (without CR LF).
  Read readLine(std::string &line, std::chrono::milliseconds timeout);
  // True if a whole line is buffered (poll would not say).
  bool lineBuffered() const { return input_.find('\n') != std::string::npos; }

  // "CODE text"; a text with newlines becomes a multi-line reply. A client
  // that reads none of it for `stallTimeout` ends the session (ok() false).
  void reply(int code, const std::string &text);
  bool ok() const { return ok_; }
  bool stalled() const { return stalled_; }  // why ok() went false: the client stopped reading
  void setStallTimeout(std::chrono::milliseconds timeout) { stallTimeout_ = timeout; }

  // After "234" to AUTH TLS: the stream to use from now on.
  void upgrade(std::unique_ptr<Stream> stream) { stream_ = std::move(stream); }
  Stream &stream() { return *stream_; }
  int fd() const { return fd_; }

 private:
  bool fill(std::chrono::milliseconds timeout, bool &timedOut);
  std::optional<Read> takeLine(std::string &line);

  int fd_;
  std::unique_ptr<Stream> stream_;
  TelnetFilter telnet_;
  std::string input_;        // without Telnet commands
  bool discarding_ = false;  // inside an over-long line
  bool ok_ = true;           // false once a reply could not be sent
  bool stalled_ = false;
  std::chrono::milliseconds stallTimeout_{std::chrono::minutes(5)};
};

}  // namespace ftp
