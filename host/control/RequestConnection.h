// Internal. One connection to a RequestServer (the control socket, the
// metrics endpoint), served by its event loop on a non-blocking socket: it
// reads one request (until `complete` finds it whole, at most kMaxRequest
// bytes, or up to the peer's half-close), has it answered, writes the reply
// and closes. The whole exchange has one deadline, so a client that drips
// bytes or never reads cannot hold a place longer than that.
// THREAD: the server loop's.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "net/EventLoop.h"
#include "net/FileDescriptor.h"

namespace wharf::control {

class RequestConnection final : public net::IoHandler {
 public:
  using Clock = std::chrono::steady_clock;
  // The request's length once `received` holds a whole one; nullopt: more to come.
  using Complete = std::function<std::optional<size_t>(std::string_view received)>;
  // The reply to a request, as the bytes to send.
  using Answer = std::function<std::string(const std::string &request)>;
  // Called once the connection is done (answered, failed, expired or
  // evicted); it unwatches and deletes the connection.
  using Done = std::function<void(RequestConnection *)>;

  static constexpr size_t kMaxRequest = 64 * 1024;

  RequestConnection(net::EventLoop &loop, net::FileDescriptor socket, Clock::time_point deadline,
                    const Complete &complete, const Answer &answer, Done done);

  void onEvents(uint32_t events) override;
  int fd() const { return socket_.fd(); }
  Clock::time_point deadline() const { return deadline_; }
  // Ends the connection through its own next event (safe while the loop may
  // still hold an event for it in the current batch).
  void evict();
  bool evicted() const { return evicted_; }

 private:
  void receive();
  void send();

  net::EventLoop &loop_;
  net::FileDescriptor socket_;
  const Clock::time_point deadline_;
  const Complete &complete_;
  const Answer &answer_;
  Done done_;
  std::string request_;
  std::string reply_;
  size_t replySent_ = 0;
  bool answered_ = false;
  bool evicted_ = false;
};

}  // namespace wharf::control
