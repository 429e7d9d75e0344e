#include "Transfer.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <optional>
#include <vector>

#include "FilePipe.h"

namespace ftp {
namespace {

constexpr size_t kChunk = 256 * 1024;
constexpr auto kClientCloseWait = std::chrono::milliseconds(200);

// While a plain download flows, the socket blocks (up to 100 ms at a time)
// rather than returning EAGAIN each time the send buffer fills: a strace of
// one RETR showed a third of the sendfile calls answered EAGAIN, each followed
// by a poll. The 100 ms bound how long a command waits for its answer while
// the peer reads slowly; a peer that reads nothing still gets EAGAIN, then the
// poll on both connections (and data_timeout).
class BlockingBriefly {
 public:
  explicit BlockingBriefly(int socket) : socket_(socket), flags_(::fcntl(socket, F_GETFL)) {
    timeval briefly{0, 100 * 1000};
    if (flags_ >= 0 && ::setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &briefly, sizeof briefly) == 0)
      ::fcntl(socket, F_SETFL, flags_ & ~O_NONBLOCK);
  }
  ~BlockingBriefly() {
    if (flags_ >= 0) ::fcntl(socket_, F_SETFL, flags_);
  }
  BlockingBriefly(const BlockingBriefly &) = delete;
  BlockingBriefly &operator=(const BlockingBriefly &) = delete;

 private:
  int socket_;
  int flags_;
};

bool writeAllTo(int file, const char *data, size_t length) {
  while (length > 0) {
    ssize_t put = ::write(file, data, length);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    data += put;
    length -= static_cast<size_t>(put);
  }
  return true;
}

}  // namespace

void appendAsciiOut(std::string &out, const char *data, size_t length, char &previous) {
  for (size_t i = 0; i < length; ++i) {
    if (data[i] == '\n' && previous != '\r') out += '\r';
    out += previous = data[i];
  }
}

Transfer::Transfer(Control &control, Fd socket, std::unique_ptr<Stream> stream,
                   std::chrono::milliseconds dataTimeout, CountBytes countBytes, Answer answer)
    : control_(&control),
      socket_(std::move(socket)),
      stream_(std::move(stream)),
      dataTimeout_(dataTimeout),
      countBytes_(std::move(countBytes)),
      answer_(std::move(answer)) {}

Transfer::Outcome Transfer::outcomeOf(Wait wait) {
  switch (wait) {
    case Wait::Aborted:
      return Outcome::Aborted;
    case Wait::ControlGone:
      return Outcome::ControlGone;
    case Wait::TimedOut:
      return Outcome::TimedOut;
    case Wait::Ready:
      break;
  }
  return Outcome::Done;
}

Transfer::Wait Transfer::wait(bool reading) {
  if (reading && stream_->pending()) return Wait::Ready;
  auto deadline = std::chrono::steady_clock::now() + dataTimeout_;
  for (;;) {
    if (controlRead_ && control_->lineBuffered())
      if (Wait taken = takeControlLines(); taken != Wait::Ready) return taken;
    pollfd fds[2] = {{socket_.get(), stream_->waitEvents(reading), 0},
                     {control_->fd(), POLLIN | POLLPRI, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    int count =
        ::poll(fds, controlRead_ ? 2 : 1, static_cast<int>(std::max<long>(left.count(), 0)));
    if (count < 0 && errno == EINTR) continue;
    if (count == 0) return Wait::TimedOut;
    if (count < 0) return Wait::ControlGone;
    if (controlRead_ && fds[1].revents != 0)
      if (Wait taken = takeControlLines(); taken != Wait::Ready) return taken;
    if (fds[0].revents != 0) return Wait::Ready;
  }
}

Transfer::Wait Transfer::takeControlLines() {
  while (controlRead_) {
    std::string line;
    switch (control_->readLine(line, std::chrono::milliseconds(0))) {
      case Control::Read::Line: {
        std::string verb = verbOf(line);
        if (verb == "ABOR") return Wait::Aborted;
        if (verb == "STAT" && line.size() == 4) {
          control_->reply(
              213, "Status: transfer in progress, " + std::to_string(bytes_) + " bytes so far.");
          break;
        }
        Next next = answer_(line);
        if (next == Next::End) return Wait::ControlGone;
        controlRead_ = next == Next::ReadOn;
        break;
      }
      case Control::Read::Closed:
        return Wait::ControlGone;
      case Control::Read::Timeout:
      case Control::Read::HandoverAsked:  // not watched during a transfer
        return Wait::Ready;               // nothing more for now
      case Control::Read::TooLong:
        control_->reply(500, "Command line too long.");
        break;
      case Control::Read::Invalid:
        control_->reply(500, "Command line holds a control character or is not UTF-8.");
        break;
    }
    if (!control_->ok() && controlRead_) return Wait::ControlGone;  // the client reads no reply
  }
  return Wait::Ready;
}

Transfer::Wait Transfer::controlBetweenChunks() {
  if (!controlRead_ || bytes_ - checkedAt_ < kControlCheck) return Wait::Ready;
  checkedAt_ = bytes_;
  pollfd control{control_->fd(), POLLIN | POLLPRI, 0};
  if (!control_->lineBuffered() && !control_->stream().pending() && ::poll(&control, 1, 0) <= 0)
    return Wait::Ready;
  return takeControlLines();
}

Transfer::Outcome Transfer::sendAll(const char *data, size_t length) {
  while (length > 0) {
    ssize_t sent = stream_->write(data, length);
    if (sent == Stream::kWouldBlock) {
      if (Wait waited = wait(false); waited != Wait::Ready) return outcomeOf(waited);
      continue;
    }
    if (sent <= 0) return Outcome::DataFailed;
    data += sent;
    length -= static_cast<size_t>(sent);
    moved(0, static_cast<uint64_t>(sent));
    if (Wait taken = controlBetweenChunks(); taken != Wait::Ready) return outcomeOf(taken);
  }
  return Outcome::Done;
}

Transfer::Outcome Transfer::sendFile(int file, off_t offset, bool ascii, Downloads how) {
  std::optional<FilePipe> pipe;
  if (how == Downloads::ZeroCopy && !ascii && !stream_->encrypted()) pipe = FilePipe::make();
  if (pipe) {
    struct stat status {};
    if (::fstat(file, &status) != 0) return Outcome::LocalError;
    BlockingBriefly flowing(socket_.get());
    while (pipe->held() > 0 || offset < status.st_size) {
      if (pipe->held() == 0) {
        ssize_t taken = pipe->fill(file, offset, static_cast<size_t>(status.st_size - offset));
        if (taken == 0) break;  // the file shrank
        if (taken < 0 && errno == EINTR) continue;
        if (taken < 0 && errno == EINVAL) break;  // not spliceable: copy below
        if (taken < 0) return Outcome::LocalError;
      }
      ssize_t sent = pipe->drain(socket_.get());
      if (sent > 0) {
        moved(0, static_cast<uint64_t>(sent));
        if (Wait taken = controlBetweenChunks(); taken != Wait::Ready) return outcomeOf(taken);
        continue;
      }
      if (sent < 0 && errno == EAGAIN) {
        if (Wait waited = wait(false); waited != Wait::Ready) return outcomeOf(waited);
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      return Outcome::DataFailed;
    }
    if (offset >= status.st_size) return Outcome::Done;
  }
  if (::lseek(file, offset, SEEK_SET) < 0) return Outcome::LocalError;
  std::vector<char> chunk(kChunk);
  std::string converted;
  char previous = 0;  // ASCII (never resumed): a bare LF becomes CRLF, a CRLF stays as it is
  for (;;) {
    ssize_t got = ::read(file, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Outcome::LocalError;
    if (got == 0) return Outcome::Done;
    const char *data = chunk.data();
    size_t length = static_cast<size_t>(got);
    if (ascii) {
      converted.clear();
      appendAsciiOut(converted, data, length, previous);
      data = converted.data();
      length = converted.size();
    }
    if (Outcome sent = sendAll(data, length); sent != Outcome::Done) return sent;
  }
}

Transfer::Outcome Transfer::receiveFile(int file, bool ascii) {
  std::vector<char> chunk(kChunk);
  bool carriageReturn = false;  // ASCII: a CR ending the last chunk
  std::string converted;
  for (;;) {
    ssize_t got = stream_->read(chunk.data(), chunk.size());
    if (got == Stream::kWouldBlock) {
      if (Wait waited = wait(true); waited != Wait::Ready) return outcomeOf(waited);
      continue;
    }
    if (got < 0) return Outcome::DataFailed;
    if (got == 0) {
      if (carriageReturn && !writeAllTo(file, "\r", 1)) return Outcome::LocalError;
      return Outcome::Done;
    }
    moved(static_cast<uint64_t>(got), 0);
    const char *data = chunk.data();
    size_t length = static_cast<size_t>(got);
    if (ascii) {
      converted.clear();
      for (size_t i = 0; i < length; ++i) {
        if (carriageReturn && chunk[i] != '\n') converted += '\r';
        carriageReturn = chunk[i] == '\r';
        if (!carriageReturn) converted += chunk[i];
      }
      data = converted.data();
      length = converted.size();
    }
    if (!writeAllTo(file, data, length)) return Outcome::LocalError;
    if (Wait taken = controlBetweenChunks(); taken != Wait::Ready) return outcomeOf(taken);
  }
}

Transfer::Outcome Transfer::sendText(const std::string &text) {
  buffer_ += text;
  return buffer_.size() >= kChunk ? flush() : Outcome::Done;
}

Transfer::Outcome Transfer::flush() {
  Outcome sent = sendAll(buffer_.data(), buffer_.size());
  buffer_.clear();
  return sent;
}

void Transfer::finish() {
  stream_->finish();
  ::shutdown(socket_.get(), SHUT_WR);
  awaitClientClose();
  socket_.reset();
}

// A client closes its end once it has the data (curl as soon as it has the
// bytes SIZE announced; ftplib at the end of input). Waiting for that, up to
// kClientCloseWait, before the 226 keeps the 226 out of the read that takes
// the 150 for a small file: curl, given both at once, waits a second before
// its next passive connection (200 small files took 105 s, against 0.13 s).
void Transfer::awaitClientClose() {
  auto deadline = std::chrono::steady_clock::now() + kClientCloseWait;
  char sink[4096];
  for (;;) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd ready{socket_.get(), POLLIN, 0};
    int count = ::poll(&ready, 1, static_cast<int>(left.count()));
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return;
    ssize_t got = ::recv(socket_.get(), sink, sizeof sink, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) return;  // closed
  }
}

}  // namespace ftp
