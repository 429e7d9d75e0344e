// Internal. `[host] metrics`: an HTTP endpoint (Poco's HTTPServer) in the
// master that serves GET /metrics in the Prometheus text format. It runs on
// threads of its own, at most kThreads at once with kQueue connections
// waiting, so a scrape storm or a stalled scraper never touches serving:
// the workers serve sessions, and the master only answers its status.
#pragma once

#include <Poco/Net/HTTPServer.h>

#include <functional>
#include <memory>
#include <string>

#include "net/Endpoint.h"

namespace wharf::metrics {

class MetricsServer {
 public:
  static constexpr int kThreads = 2;
  static constexpr int kQueue = 16;

  // The exposition text now (called on a server thread).
  using Scrape = std::function<std::string()>;

  // THREAD: main. Binds `endpoint` and starts; throws std::runtime_error
  // naming the address and the reason.
  MetricsServer(const net::Endpoint &endpoint, Scrape scrape);
  ~MetricsServer();
  MetricsServer(const MetricsServer &) = delete;
  MetricsServer &operator=(const MetricsServer &) = delete;

 private:
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace wharf::metrics
