// Internal. A worker's side of its channel to the master (fd 3 at exec):
// the listening sockets the master passes (notes {"command": "socket",
// "listener": NAME} with the socket attached, never answered), the log
// files it opened (notes {"command": "log", "path": PATH} with the file
// attached: written to from then on), a TLS listener's session ticket keys
// (notes {"command": "ticket_keys", "listener": NAME} with a sealed memory
// file attached: in use from then on), and requests
// {"command": ..., "id": N}, each answered {"id": N, "ok": true|false, ...}.
// The requests before serving are taken on the main thread (the worker has
// no other thread yet, so a fork helper may still be forked); after that a
// thread of the link answers them.
#pragma once

#include <Poco/JSON/Object.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/Config.h"
#include "net/FileDescriptor.h"
#include "net/HostDescriptor.h"
#include "process/Channel.h"

namespace wharf::worker {

class MasterLink {
 public:
  // Fills `reply`, or throws (sent back as {"ok": false, "error": what()}).
  using Handler = std::function<void(const Poco::JSON::Object &request, Poco::JSON::Object &reply)>;

  explicit MasterLink(net::FileDescriptor channel);
  ~MasterLink();
  MasterLink(const MasterLink &) = delete;
  MasterLink &operator=(const MasterLink &) = delete;

  // THREAD: main, before answerInBackground(). Takes sockets and answers
  // requests with `handlers` until one named `last` has been answered: true
  // if it succeeded, false if it failed or the master has gone.
  bool answerUntil(const std::string &last, const std::map<std::string, Handler> &handlers);
  // THREAD: main. From now on a thread answers requests with `handlers`.
  void answerInBackground(std::map<std::string, Handler> handlers);

  // THREAD: any, under the caller's lock. The socket the master passed for
  // listener `name`, taken out (each is used once); invalid if none.
  net::FileDescriptor takeSocket(const std::string &name);
  // THREAD: a handler's. The socket attached to the request it answers,
  // taken out; invalid if none came with it (or outside a handler).
  static net::FileDescriptor takeRequestSocket();
  // The files the master passed since the last call (for the request that follows them).
  config::HeldFiles takeFiles();
  // THREAD: any. Closes the sockets passed but not taken (a refused reload's
  // new addresses), so this process holds no address the master gave up.
  void dropUntakenSockets();

 private:
  // One message; returns the command answered (empty for a socket note),
  // nullopt when the master has gone.
  std::optional<std::string> answerOne(const std::map<std::string, Handler> &handlers);

  process::Channel channel_;
  std::mutex socketsMutex_;
  std::map<std::string, net::HostDescriptor> sockets_;
  config::HeldFiles files_;  // under socketsMutex_
  std::thread thread_;
};

}  // namespace wharf::worker
