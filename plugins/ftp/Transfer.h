// One transfer on a data connection, with the control connection watched
// meanwhile: ABOR stops it (426, then 226), other commands wait until it
// ends, and a stalled peer times out after data_timeout. Binary downloads
// use sendfile(2); ASCII mode converts line ends; TLS goes through the stream.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "Control.h"
#include "Fd.h"
#include "Stream.h"

namespace ftp {

class Transfer {
 public:
  enum class Outcome { Done, Aborted, DataFailed, ControlGone, TimedOut, LocalError };
  enum class ListStyle { Long, Names, Facts };

  // Hears each chunk's bytes as it goes (the host counts them as the session's).
  using CountBytes = std::function<void(uint64_t received, uint64_t sent)>;

  Transfer(Control &control, Fd socket, std::unique_ptr<Stream> stream,
           std::chrono::milliseconds dataTimeout, CountBytes countBytes);
  Transfer(Transfer &&) = default;

  // From `file` at `offset` to the end.
  Outcome sendFile(int file, off_t offset, bool ascii);
  // Until the peer closes; writes at the file's current offset.
  Outcome receiveFile(int file, bool ascii);
  // Buffered text (listings); flush() sends what is buffered.
  Outcome sendText(const std::string &text);
  Outcome flush();
  // Ends the data connection cleanly (TLS close_notify, then close).
  void finish();
  uint64_t bytes() const { return bytes_; }

 private:
  enum class Wait { Ready, Aborted, ControlGone, TimedOut };
  Wait wait(bool reading);
  // The command lines that came meanwhile: ABOR aborts (Aborted), STAT is
  // answered at once with the progress, others are deferred until the
  // transfer ends (RFC 959 4.1.3). Ready when none is left.
  Wait takeControlLines();
  Outcome sendAll(const char *data, size_t length);
  static Outcome outcomeOf(Wait wait);
  void moved(uint64_t received, uint64_t sent) {
    bytes_ += received + sent;
    countBytes_(received, sent);
  }

  Control *control_;
  Fd socket_;
  std::unique_ptr<Stream> stream_;
  std::chrono::milliseconds dataTimeout_;
  std::string buffer_;
  uint64_t bytes_ = 0;
  CountBytes countBytes_;
};

}  // namespace ftp
