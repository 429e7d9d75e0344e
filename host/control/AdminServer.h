// Internal. The control socket wharfctl talks to: a unix stream socket (mode
// 0600) served by one thread. One request per connection: a JSON object
// {"command": "..."} on one line; one JSON reply {"ok": true|false, ...}.
#pragma once

#include <Poco/JSON/Object.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "net/FileDescriptor.h"
#include "net/StopSignal.h"

namespace wharf::control {

class AdminServer {
 public:
  // Answers a request: fills `reply`, or throws std::runtime_error (sent
  // back as {"ok": false, "error": what()}).
  using Handler = std::function<void(const Poco::JSON::Object &request, Poco::JSON::Object &reply)>;

  // THREAD: main. Throws std::runtime_error naming the path and the reason.
  AdminServer(const std::filesystem::path &path, std::map<std::string, Handler> commands);
  ~AdminServer();  // stops the thread, removes the socket file
  AdminServer(const AdminServer &) = delete;
  AdminServer &operator=(const AdminServer &) = delete;

 private:
  void serve() noexcept;
  void answer(int connection);
  std::string reply(const std::string &request);

  std::filesystem::path path_;
  std::map<std::string, Handler> commands_;
  net::FileDescriptor socket_;
  net::StopSignal stop_;
  std::thread thread_;
};

}  // namespace wharf::control
