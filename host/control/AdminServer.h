// Internal. The control socket wharfctl talks to: a unix stream socket (mode
// 0600) served by one event-loop thread. One request per connection: a JSON
// object {"command": "..."} on one line; one JSON reply {"ok": true|false,
// ...}. Connections are served side by side, each within kRequestDeadline,
// at most kMaxConnections at once (a new one evicts the oldest), so idle or
// dripping clients cannot keep `wharfctl` waiting.
#pragma once

#include <Poco/JSON/Object.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "control/AdminConnection.h"
#include "net/EventLoop.h"
#include "net/FileDescriptor.h"

namespace wharf::control {

class AdminServer final : private net::IoHandler {
 public:
  static constexpr size_t kMaxConnections = 512;
  static constexpr auto kRequestDeadline = std::chrono::seconds(10);

  // Answers a request: fills `reply`, or throws std::runtime_error (sent
  // back as {"ok": false, "error": what()}).
  using Handler = std::function<void(const Poco::JSON::Object &request, Poco::JSON::Object &reply)>;

  // THREAD: main. Throws std::runtime_error naming the path and the reason.
  AdminServer(const std::filesystem::path &path, std::map<std::string, Handler> commands);
  ~AdminServer();  // stops the thread, removes the socket file
  AdminServer(const AdminServer &) = delete;
  AdminServer &operator=(const AdminServer &) = delete;

  // The reply to one request line: {"command": NAME, ...} runs that
  // command's handler; anything else (not JSON, not an object, no such
  // command, a handler that throws) gets {"ok": false, "error": ...}.
  static std::string answer(const std::map<std::string, Handler> &commands,
                            const std::string &request);

 private:
  void serve() noexcept;
  void onEvents(uint32_t events) override;  // the listening socket: accept
  void pauseAccepting();                    // until the next tick's resumeAccepting()
  void resumeAccepting();
  void evictOldest();
  void closeExpired();
  void remove(AdminConnection *connection);

  std::filesystem::path path_;
  std::map<std::string, Handler> commands_;
  net::FileDescriptor socket_;
  net::EventLoop loop_;
  std::map<AdminConnection *, std::unique_ptr<AdminConnection>> connections_;
  bool acceptPaused_ = false;
  std::atomic<bool> stopping_ = false;
  std::thread thread_;
};

}  // namespace wharf::control
