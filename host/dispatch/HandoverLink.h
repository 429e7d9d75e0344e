// Internal. The line between a retiring worker and one that replaces it, for
// moving live sessions across processes (migrate = on): a SOCK_SEQPACKET
// pair the master made, one end passed to each. One JSON object per
// message, a session's connection attached to each package (SCM_RIGHTS).
// The old worker sends packages, the new one answers each (moved or
// refused); a closed end is how either learns that the other has gone.
// Sending is queued to a thread of the link, so no event loop ever waits on
// the pair's buffer; what comes is handed to the receiver on another thread.
#pragma once

#include <Poco/JSON/Object.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "net/FileDescriptor.h"
#include "process/Channel.h"

namespace wharf::dispatch {

class HandoverLink {
 public:
  // THREAD: the link's receiving thread. A message and its attached
  // descriptor; a null body once the other end has gone (the last call).
  using Receiver = std::function<void(Poco::JSON::Object::Ptr body, net::FileDescriptor attached)>;

  explicit HandoverLink(net::FileDescriptor end) : channel_(std::move(end)) {}
  // Starts the link's threads: what comes goes to `receiver`.
  void start(Receiver receiver);
  // Unblocks and joins both threads; what was not sent yet is dropped.
  ~HandoverLink();
  HandoverLink(const HandoverLink &) = delete;
  HandoverLink &operator=(const HandoverLink &) = delete;

  // A message and the descriptor to attach to it (if valid; closed here once sent).
  struct Outgoing {
    Poco::JSON::Object::Ptr body;
    net::FileDescriptor attached;
  };
  // THREAD: any. Sends `body` (with `attached`) if the other end's buffer has
  // room, else queues it for the sending thread; never waits for the other end.
  void send(Poco::JSON::Object::Ptr body, net::FileDescriptor attached = {});
  // The same for a batch, in order: what is queued is queued at once, so the
  // sending thread wakes once for it, not amid it (on a busy core, each
  // wake-up can take the core from the caller).
  void send(std::vector<Outgoing> batch);
  // THREAD: any. Sends `body` now, past the queue: true once the other end's
  // buffer holds it (what the other end then reads even if this one dies).
  bool sendNow(const Poco::JSON::Object &body);

 private:
  void sendQueued();
  void endLocked();
  void receiveAll(const Receiver &receiver);

  process::Channel channel_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<Outgoing> outgoing_;  // under mutex_
  bool closing_ = false;           // under mutex_
  bool sending_ = false;           // the sending thread holds a message; under mutex_
  std::thread sender_;
  std::thread receiver_;
};

}  // namespace wharf::dispatch
