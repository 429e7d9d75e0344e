// One transfer on a data connection, with the control connection read and
// answered meanwhile: ABOR stops it (426, then 226), STAT tells the progress,
// and every other command is answered at once, in order (as pyftpdlib does:
// a client that waits for a reply before it reads or sends more data would
// otherwise wait for good). A stalled peer times out after data_timeout.
// Binary downloads copy the file through a buffer, or with zero_copy splice it
// through a pipe (FilePipe); ASCII mode converts line ends; TLS goes through the
// stream.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "Control.h"
#include "Fd.h"
#include "FtpOptions.h"
#include "Stream.h"

namespace ftp {

// TYPE A on the way out: a bare LF goes as CRLF, a CRLF as it is. `previous`
// is the byte before `data` (0 at the start), and is left as its last byte.
void appendAsciiOut(std::string &out, const char *data, size_t length, char &previous);

class Transfer {
 public:
  enum class Outcome { Done, Aborted, DataFailed, ControlGone, TimedOut, LocalError };
  enum class ListStyle { Long, Names, Facts };

  // Hears each chunk's bytes as it goes (the host counts them as the session's).
  using CountBytes = std::function<void(uint64_t received, uint64_t sent)>;
  // Answers a command line that came during the transfer (not ABOR or STAT),
  // and says what the transfer does next: go on reading commands, take no
  // more (after QUIT: the client may close the control connection, and the
  // data still completes), or end (the session is closing).
  enum class Next { ReadOn, ReadNoMore, End };
  using Answer = std::function<Next(const std::string &line)>;

  Transfer(Control &control, Fd socket, std::unique_ptr<Stream> stream,
           std::chrono::milliseconds dataTimeout, CountBytes countBytes, Answer answer);
  Transfer(Transfer &&) = default;

  // From `file` at `offset` to the end (`how`: binary and plain only).
  Outcome sendFile(int file, off_t offset, bool ascii, Downloads how);
  // Until the peer closes; writes at the file's current offset.
  Outcome receiveFile(int file, bool ascii);
  // Buffered text (listings); flush() sends what is buffered.
  Outcome sendText(const std::string &text);
  Outcome flush();
  // Ends the data connection cleanly (TLS close_notify, then close), once the
  // client has closed its end or briefly, so the 226 that follows comes apart
  // from the 150 (see awaitClientClose).
  void finish();
  uint64_t bytes() const { return bytes_; }

 private:
  void awaitClientClose();
  enum class Wait { Ready, Aborted, ControlGone, TimedOut };
  Wait wait(bool reading);
  // The command lines that came meanwhile, each answered: ABOR aborts
  // (Aborted), STAT gets the progress, the others go to answer_. Ready when
  // none is left.
  Wait takeControlLines();
  // Between chunks of a transfer that never has to wait (a fast peer): the
  // control connection is looked at every kControlCheck bytes, so a command
  // is answered while the data flows, not at the end.
  Wait controlBetweenChunks();
  Outcome sendAll(const char *data, size_t length);
  static Outcome outcomeOf(Wait wait);
  void moved(uint64_t received, uint64_t sent) {
    bytes_ += received + sent;
    countBytes_(received, sent);
  }
  static constexpr uint64_t kControlCheck = 1 << 20;

  Control *control_;
  Fd socket_;
  std::unique_ptr<Stream> stream_;
  std::chrono::milliseconds dataTimeout_;
  std::string buffer_;
  uint64_t bytes_ = 0;
  uint64_t checkedAt_ = 0;   // bytes_ when the control connection was last looked at
  bool controlRead_ = true;  // false once a command said to read no more
  CountBytes countBytes_;
  Answer answer_;
};

}  // namespace ftp
