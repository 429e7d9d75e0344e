// Internal. `[host] metrics`: an HTTP endpoint (Poco's HTTPServer) in the
// master, on a TCP address or a unix socket, that serves
//   GET /metrics      the Prometheus text format (PrometheusText.h),
//   GET /status.json  the master's status (as `wharfctl status --json`) and the time,
//   GET /             the live status page (status_page.html), which polls status.json.
// It runs on threads of its own, at most kThreads at once with kQueue
// connections waiting, so a scrape storm or a stalled scraper never touches
// serving: the workers serve sessions, and the master only answers its status.
#pragma once

#include <Poco/JSON/Object.h>
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

  // The master's status now (called on a server thread); throws if there is none.
  using Snapshot = std::function<Poco::JSON::Object::Ptr()>;

  // THREAD: main. Binds `endpoint` (a unix socket: created 0660, replacing
  // a stale one) and starts; throws std::runtime_error naming the address
  // and the reason.
  MetricsServer(const net::Endpoint &endpoint, Snapshot snapshot);
  ~MetricsServer();  // stops; removes a unix socket
  MetricsServer(const MetricsServer &) = delete;
  MetricsServer &operator=(const MetricsServer &) = delete;

  const net::Endpoint &endpoint() const { return endpoint_; }

 private:
  net::Endpoint endpoint_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace wharf::metrics
