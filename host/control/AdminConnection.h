// Internal. One connection to the control socket, served by AdminServer's
// event loop on a non-blocking socket: it reads one request line (at most
// kMaxRequest bytes, or up to the peer's half-close), has it answered, and
// writes the reply. The whole exchange has one deadline, so a client that
// drips bytes or never reads cannot hold a place longer than that.
// THREAD: the admin loop's.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "net/EventLoop.h"
#include "net/FileDescriptor.h"

namespace wharf::control {

class AdminConnection final : public net::IoHandler {
 public:
  using Clock = std::chrono::steady_clock;
  using Answer = std::function<std::string(const std::string &request)>;
  // Called once the connection is done (answered, failed, expired or
  // evicted); it unwatches and deletes the connection.
  using Done = std::function<void(AdminConnection *)>;

  static constexpr size_t kMaxRequest = 64 * 1024;

  AdminConnection(net::EventLoop &loop, net::FileDescriptor socket, Clock::time_point deadline,
                  Answer answer, Done done);

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
  Answer answer_;
  Done done_;
  std::string request_;
  std::string reply_;
  size_t replySent_ = 0;
  bool answered_ = false;
  bool evicted_ = false;
};

}  // namespace wharf::control
