// The control connection: reads command lines (bounded, Telnet commands taken
// out of the stream, checked as UTF-8 without control characters) and writes
// replies, in the clear or over TLS after AUTH TLS.
#pragma once

#include <chrono>
#include <cstdint>
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
  // Command: after IAC; Option: after IAC WILL. Numbered as a carried session keeps it.
  enum class State : uint8_t { Data = 0, Command = 1, Option = 2 };

  explicit TelnetFilter(State state = State::Data) : state_(state) {}
  // Appends the data bytes among `data` to `out`.
  void append(std::string &out, const char *data, size_t length);
  State state() const { return state_; }

 private:
  State state_;
};

class Control {
 public:
  static constexpr size_t kMaxLine = 4096;

  enum class Read { Line, Timeout, Closed, TooLong, Invalid, HandoverAsked };

  // What the connection holds that its socket does not: input read and not
  // acted on yet (live migration carries it to newer code).
  struct Unread {
    std::string input;  // without Telnet commands, no whole line
    bool discarding = false;
    TelnetFilter::State telnet = TelnetFilter::State::Data;
  };

  explicit Control(int fd);
  // Over a connection whose input older code began reading.
  Control(int fd, Unread unread);

  // Waits up to `timeout` for a whole line (without CR LF). Unless it is -1,
  // `handoverFd` is watched too, and looked at before more input is read:
  // HandoverAsked once it is readable (input that came meanwhile stays in
  // the socket).
  Read readLine(std::string &line, std::chrono::milliseconds timeout, int handoverFd = -1);
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
  const Stream &stream() const { return *stream_; }
  int fd() const { return fd_; }
  Unread unread() const { return {input_, discarding_, telnet_.state()}; }

 private:
  enum class Filled { Some, Closed, Timeout, HandoverAsked };
  Filled fill(std::chrono::milliseconds timeout, int handoverFd);
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
