// Internal. The line between the master and one worker: a SOCK_SEQPACKET
// pair carrying one JSON object per message, a listening socket passed along
// where one goes with it (SCM_RIGHTS). The master asks and the worker
// answers, one request at a time; a closed end is how either learns that the
// other has gone.
#pragma once

#include <Poco/JSON/Object.h>

#include <chrono>
#include <optional>
#include <utility>

#include "net/FileDescriptor.h"
#include "net/HostDescriptor.h"

namespace wharf::process {

struct Message {
  Poco::JSON::Object::Ptr body;
  net::FileDescriptor socket;  // invalid unless one was passed
};

class Channel {
 public:
  // Both ends, close-on-exec; the master clears it on the worker's end only
  // in the child it is about to exec.
  static std::pair<Channel, Channel> pair();
  Channel() = default;
  explicit Channel(net::FileDescriptor end) : end_(std::move(end)) {}

  // THREAD: any (each message goes whole). False if the other end has gone.
  bool send(const Poco::JSON::Object &body, int socket = -1) const;
  enum class Sent { Whole, WouldWait, Failed };
  // As send, but never waits for room in the other end's buffer.
  Sent trySend(const Poco::JSON::Object &body, int socket = -1) const;
  // THREAD: any, one receiver at a time. nullopt when the other end has gone,
  // the message is not a JSON object, or `timeout` passes first.
  std::optional<Message> receive(
      std::optional<std::chrono::milliseconds> timeout = std::nullopt) const;

  int fd() const { return end_.fd(); }
  bool valid() const { return end_.valid(); }
  net::FileDescriptor release() { return end_.release(); }

 private:
  net::HostDescriptor end_;
};

}  // namespace wharf::process
