// One client's session, whichever the dialect and the concurrency mode:
// commands in, files stored or sent, replies out. Fed with the bytes the
// client sends; answers through a Channel.
//
//   Request --put--> Receiving (filesize bytes) --------------> Request
//   Request --get--> GoAhead (pipe: "second_active") --> Sending --> Request
//
// A malformed header, a refused put whose bytes follow its header, or a
// failed store end the session after the reply; a get that finds nothing
// is answered and the session goes on. Input is held only up to the header
// limit: a client that sends more while a reply is due is refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "Channel.h"
#include "Dialect.h"
#include "InFlight.h"
#include "Store.h"

namespace xfer {

class Conversation {
 public:
  Conversation(const Dialect &dialect, const Store &store, InFlight &inFlight,
               const XferOptions &options, Channel &channel)
      : dialect_(dialect),
        store_(store),
        inFlight_(inFlight),
        options_(options),
        channel_(channel) {}
  ~Conversation();  // an upload still under way is discarded (and logged)

  void receive(std::string_view bytes);
  // The file handed to Channel::sendFile has all gone.
  void fileSent();
  bool closed() const { return state_ == State::Closed; }

  // While an upload waits for bytes and no input is held: the file they go to and how many
  // are still due, so that a blocking session can move them from its socket itself.
  struct Destination {
    int file;
    uint64_t remaining;
  };
  std::optional<Destination> uploadDestination() const;
  // `count` bytes went into that file directly.
  void storedDirectly(size_t count);
  // Storing them directly failed (`reason`): the session ends as any failed store does.
  void storeFailed(const std::string &reason);
  // Called every option.stall_timeout: an upload that has received fewer than
  // 64 KiB since the last call (or than what it still lacked), and was under
  // way then, ends the session.
  void checkProgress();

 private:
  enum class State { Request, Receiving, GoAhead, Sending, Closed };

  // Runs `body`; a failure to store or send ends the session with its reason.
  template <typename Body>
  void guarded(Body &&body);
  void advance();
  bool step();  // one move on the held input; false when it must wait
  void handle(Request request);
  void put();
  void get();
  void store(std::string_view bytes);
  void noteStored(size_t count);  // `count` more bytes of the upload are in its file
  void finishUpload();
  void startSending();
  void noteSent();
  // Logs `reason`, sends `reply` (if any) and ends the session.
  void end(const std::string &reason, const std::string &reply);
  void checkHeldInput();

  const Dialect &dialect_;
  const Store &store_;
  InFlight &inFlight_;
  const XferOptions &options_;
  Channel &channel_;
  State state_ = State::Request;
  std::string held_;  // input not yet used
  Request current_;
  Store::Upload upload_;
  InFlight::Claim claim_;                      // the upload's declared bytes, while it is under way
  uint64_t remaining_ = 0;                     // of the upload
  uint64_t stored_ = 0;                        // bytes of every upload so far, for checkProgress
  std::optional<uint64_t> storedAtLastCheck_;  // set while an upload was under way
  Store::Download download_;
};

}  // namespace xfer
