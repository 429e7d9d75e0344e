// Internal. A server of one request per connection on one event-loop thread
// of its own: the control socket (a JSON line) and the metrics endpoint
// (HTTP). Connections are served side by side, each within kRequestDeadline
// from accept to its reply's last byte, at most kMaxConnections at once (a
// new one evicts the oldest). So idle or dripping clients cannot keep an
// operator's `wharfctl` or a Prometheus scrape waiting. (Poco's HTTPServer,
// which the metrics endpoint used, gives each connection a thread and a
// timeout per read: 50 idle connections, or a few sending a byte every 2 s,
// starved every scrape.)
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "control/RequestConnection.h"
#include "net/EventLoop.h"
#include "net/FileDescriptor.h"

namespace wharf::control {

class RequestServer final : private net::IoHandler {
 public:
  static constexpr size_t kMaxConnections = 512;
  static constexpr auto kRequestDeadline = std::chrono::seconds(10);

  // THREAD: main. Serves `listening` (a non-blocking listening socket) on a
  // thread named by `name` in the log: `complete` finds where a request
  // ends, `answer` makes the reply (on the server's thread).
  RequestServer(std::string name, net::FileDescriptor listening,
                RequestConnection::Complete complete, RequestConnection::Answer answer);
  ~RequestServer();  // stops the thread; open connections close
  RequestServer(const RequestServer &) = delete;
  RequestServer &operator=(const RequestServer &) = delete;

 private:
  void serve() noexcept;
  void onEvents(uint32_t events) override;  // the listening socket: accept
  void pauseAccepting();                    // until the next tick's resumeAccepting()
  void resumeAccepting();
  void evictOldest();
  void closeExpired();
  void remove(RequestConnection *connection);

  std::string name_;
  net::FileDescriptor socket_;
  RequestConnection::Complete complete_;
  RequestConnection::Answer answer_;
  net::EventLoop loop_;
  std::map<RequestConnection *, std::unique_ptr<RequestConnection>> connections_;
  bool acceptPaused_ = false;
  std::atomic<bool> stopping_ = false;
  std::thread thread_;
};

}  // namespace wharf::control
