// Internal. `[host] metrics`: an HTTP endpoint in the master, on a TCP
// address or a unix socket, that serves
//   GET /metrics      the Prometheus text format (PrometheusText.h),
//   GET /status.json  the master's status (as `wharfctl status --json`) and the time,
//   GET /             the live status page (status_page.html), which polls status.json.
// (a query string is ignored). One request per connection (HTTP/1.0 and 1.1,
// `Connection: close`), served by a RequestServer: a thread of its own, a
// deadline per connection and a cap on connections, so idle or dripping
// peers cannot starve scrapes, and a scrape storm never touches serving.
#pragma once

#include <Poco/JSON/Object.h>

#include <functional>
#include <memory>
#include <string>

#include "control/RequestServer.h"
#include "net/Endpoint.h"
#include "net/ListenSocket.h"

namespace wharf::metrics {

class MetricsServer {
 public:
  // The master's status now (called on a server thread); throws if there is none.
  using Snapshot = std::function<Poco::JSON::Object::Ptr()>;

  // THREAD: main. Binds `endpoint` (a unix socket: created 0660, replacing
  // a stale one) and starts; throws std::runtime_error naming the address
  // and the reason.
  MetricsServer(const net::Endpoint &endpoint, Snapshot snapshot);
  ~MetricsServer();  // stops; removes a unix socket
  // The reply (status line, headers, body) to one request head.
  static std::string answer(const std::string &head, const Snapshot &snapshot);
  MetricsServer(const MetricsServer &) = delete;
  MetricsServer &operator=(const MetricsServer &) = delete;

  const net::Endpoint &endpoint() const { return endpoint_; }

 private:
  net::Endpoint endpoint_;
  Snapshot snapshot_;
  std::unique_ptr<net::ListenSocket> socket_;
  std::unique_ptr<control::RequestServer> server_;
};

}  // namespace wharf::metrics
