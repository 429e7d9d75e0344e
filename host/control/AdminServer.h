// Internal. The control socket wharfctl talks to: a unix stream socket (mode
// 0600) served by a RequestServer (one event-loop thread, a deadline per
// connection, a cap on connections). One request per connection: a JSON
// object {"command": "..."} on one line; one JSON reply {"ok": true|false,
// ...} on one line.
#pragma once

#include <Poco/JSON/Object.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "control/RequestServer.h"

namespace wharf::control {

class AdminServer {
 public:
  // Answers a request: fills `reply`, or throws std::runtime_error (sent
  // back as {"ok": false, "error": what()}).
  using Handler = std::function<void(const Poco::JSON::Object &request, Poco::JSON::Object &reply)>;

  // THREAD: main. Throws std::runtime_error naming the path and the reason.
  AdminServer(const std::filesystem::path &path, std::map<std::string, Handler> commands);
  ~AdminServer();  // stops serving, removes the socket file
  AdminServer(const AdminServer &) = delete;
  AdminServer &operator=(const AdminServer &) = delete;

  // The reply to one request line: {"command": NAME, ...} runs that
  // command's handler; anything else (not JSON, not an object, no such
  // command, a handler that throws) gets {"ok": false, "error": ...}.
  static std::string answer(const std::map<std::string, Handler> &commands,
                            const std::string &request);

 private:
  std::filesystem::path path_;
  std::map<std::string, Handler> commands_;
  std::unique_ptr<RequestServer> server_;
};

}  // namespace wharf::control
