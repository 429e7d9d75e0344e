#include "Conversation.h"

#include <algorithm>
#include <stdexcept>

#include "FileName.h"
#include "common/Text.h"

namespace xfer {
namespace {

// A length prefix, a little slack for line ends.
constexpr size_t kHeaderSlack = 16;
// What an upload must move within each stall_timeout (about 1 KiB/s at 60s).
constexpr uint64_t kStallProgress = 64u << 10;

std::string quoted(const std::string &name) {
  return "'" + common::escapedForLog(name) + "'";
}

}  // namespace

Conversation::~Conversation() {
  if (upload_.active())
    channel_.log(WHARF_LOG_NOTICE, "put " + quoted(current_.filename) +
                                       " discarded: the client left after " +
                                       std::to_string(current_.filesize - remaining_) + " of " +
                                       std::to_string(current_.filesize) + " bytes");
}

template <typename Body>
void Conversation::guarded(Body &&body) {
  try {
    body();
  } catch (const std::runtime_error &failure) {
    // Mid-file, a reply would be read as the file's bytes: the session just ends.
    end(failure.what(),
        state_ == State::Sending ? std::string() : dialect_.refused(failure.what()));
  }
}

void Conversation::receive(std::string_view bytes) {
  if (state_ == State::Closed) return;
  guarded([&] {
    if (state_ == State::Receiving && held_.empty()) {
      size_t taken = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size()));
      store(bytes.substr(0, taken));  // straight to the file: no copy
      bytes.remove_prefix(taken);
    }
    held_.append(bytes);
    advance();
  });
}

std::optional<Conversation::Destination> Conversation::uploadDestination() const {
  if (state_ != State::Receiving || !held_.empty()) return std::nullopt;
  return Destination{upload_.fd(), remaining_};
}

void Conversation::storedDirectly(size_t count) {
  guarded([&] {
    noteStored(count);
    advance();
  });
}

void Conversation::storeFailed(const std::string &reason) {
  end(reason, dialect_.refused(reason));
}

void Conversation::fileSent() {
  guarded([&] {
    noteSent();
    advance();
  });
}

void Conversation::noteSent() {
  channel_.log(WHARF_LOG_INFO, "get " + quoted(current_.filename) + ": " +
                                   std::to_string(download_.size) + " bytes sent");
  state_ = State::Request;
}

void Conversation::advance() {
  while (state_ != State::Closed && step()) {
  }
  checkHeldInput();
}

bool Conversation::step() {
  switch (state_) {
    case State::Request: {
      if (held_.empty()) return false;
      Parsed parsed = dialect_.parseRequest(held_);
      if (parsed.status == Parsed::Status::NeedMore) return false;
      if (parsed.status == Parsed::Status::Malformed) {
        end("malformed header: " + parsed.reason, dialect_.refused(parsed.reason));
        return false;
      }
      held_.erase(0, parsed.consumed);
      handle(std::move(parsed.request));
      return true;
    }
    case State::Receiving: {
      if (held_.empty()) return false;
      size_t taken = static_cast<size_t>(std::min<uint64_t>(remaining_, held_.size()));
      store(std::string_view(held_).substr(0, taken));
      held_.erase(0, taken);
      return true;
    }
    case State::GoAhead: {
      Parsed parsed = dialect_.parseGoAhead(held_);
      if (parsed.status == Parsed::Status::NeedMore) return false;
      if (parsed.status == Parsed::Status::Malformed) {
        end(parsed.reason, dialect_.refused(parsed.reason));
        return false;
      }
      held_.erase(0, parsed.consumed);
      startSending();
      return state_ == State::Request;
    }
    case State::Sending:
    case State::Closed:
      return false;
  }
  return false;
}

void Conversation::handle(Request request) {
  current_ = std::move(request);
  if (current_.command == Request::Command::Put)
    put();
  else
    get();
}

void Conversation::put() {
  std::string refusal;
  if (auto bad = fileNameRefusal(current_.filename))
    refusal = *bad;
  else if (current_.filesize > options_.maxFileSize)
    refusal = "filesize " + std::to_string(current_.filesize) + " is over the limit of " +
              std::to_string(options_.maxFileSize) + " bytes";
  if (refusal.empty()) {
    if (auto outcome = inFlight_.claim(channel_.peerAddress(), current_.filesize); outcome.claim)
      claim_ = std::move(*outcome.claim);
    else
      refusal = "busy: " + outcome.refusal + "; try again later";
  }
  if (refusal.empty()) {
    try {
      upload_ = store_.beginUpload(current_.filename);
      upload_.reserve(current_.filesize);
    } catch (const std::runtime_error &failure) {
      refusal = failure.what();
      upload_ = {};
    }
  }
  if (!refusal.empty()) claim_ = {};
  if (!refusal.empty()) {
    std::string reason = "put " + quoted(current_.filename) + " refused: " + refusal;
    if (dialect_.putDataFollowsHeader()) {
      end(reason, dialect_.refused(refusal));  // its bytes are on their way
    } else {
      channel_.log(WHARF_LOG_NOTICE, reason);
      channel_.send(dialect_.refused(refusal));
    }
    return;
  }
  if (std::string accepted = dialect_.putAccepted(); !accepted.empty()) channel_.send(accepted);
  channel_.log(WHARF_LOG_DEBUG, "put " + quoted(current_.filename) + ": receiving " +
                                    std::to_string(current_.filesize) + " bytes");
  remaining_ = current_.filesize;
  state_ = State::Receiving;
  if (remaining_ == 0) finishUpload();
}

void Conversation::get() {
  std::string refusal;
  if (auto bad = fileNameRefusal(current_.filename)) {
    refusal = *bad;
  } else {
    try {
      download_ = store_.openForDownload(current_.filename);
    } catch (const std::runtime_error &failure) {
      refusal = failure.what();
    }
  }
  if (!refusal.empty()) {
    channel_.log(WHARF_LOG_NOTICE, "get " + quoted(current_.filename) + " refused: " + refusal);
    channel_.send(dialect_.getRefused(refusal));
    return;
  }
  channel_.send(dialect_.getAccepted(current_.filename, download_.size));
  state_ = State::GoAhead;
}

void Conversation::store(std::string_view bytes) {
  if (bytes.empty()) return;
  upload_.write(bytes.data(), bytes.size());
  noteStored(bytes.size());
}

void Conversation::noteStored(size_t count) {
  remaining_ -= count;
  stored_ += count;
  if (remaining_ == 0) finishUpload();
}

void Conversation::finishUpload() {
  upload_.commit();
  claim_ = {};
  channel_.log(WHARF_LOG_INFO, "put " + quoted(current_.filename) + ": " +
                                   std::to_string(current_.filesize) + " bytes stored");
  state_ = State::Request;
}

void Conversation::startSending() {
  state_ = State::Sending;
  if (channel_.sendFile(std::move(download_.file), download_.size)) noteSent();
}

void Conversation::end(const std::string &reason, const std::string &reply) {
  channel_.log(WHARF_LOG_WARNING, common::escapedForLog(reason) + "; closing");
  state_ = State::Closed;
  held_.clear();
  upload_ = {};
  claim_ = {};
  try {
    if (!reply.empty()) channel_.send(reply);
    channel_.close();
  } catch (const std::exception &) {  // the session is closed already
  }
}

void Conversation::checkProgress() {
  if (state_ != State::Receiving) {
    storedAtLastCheck_.reset();
    return;
  }
  // Progress, not a byte now and then: a dripper would hold its claim on
  // max_in_flight for good. At the end of a file, what was left is enough.
  if (storedAtLastCheck_) {
    uint64_t progress = stored_ - *storedAtLastCheck_;
    if (progress < std::min(kStallProgress, remaining_ + progress)) {
      end("put " + quoted(current_.filename) + " stalled: fewer than " +
              std::to_string(kStallProgress) + " bytes within stall_timeout, after " +
              std::to_string(current_.filesize - remaining_) + " of " +
              std::to_string(current_.filesize),
          dialect_.refused("too slow: fewer than " + std::to_string(kStallProgress) +
                           " bytes within stall_timeout"));
      return;
    }
  }
  storedAtLastCheck_ = stored_;
}

void Conversation::checkHeldInput() {
  if (state_ == State::Closed || state_ == State::Request || state_ == State::Receiving) return;
  if (held_.size() > options_.maxHeader + kHeaderSlack)
    end("the client sent more than a header while its reply was due",
        dialect_.refused("too much input before the reply"));
}

}  // namespace xfer
