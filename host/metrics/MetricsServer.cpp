#include "metrics/MetricsServer.h"

#include <Poco/JSON/Stringifier.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "metrics/PrometheusText.h"
#include "metrics/StatusPage.h"
#include "metrics/StatusPageRender.h"

namespace wharf::metrics {
namespace {

struct Page {
  std::string contentType;
  std::string body;
};

double secondsSinceEpoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The page at `path`; nullopt for a path this server does not serve.
std::optional<Page> render(const std::string &path, const MetricsServer::Snapshot &snapshot) {
  if (path == "/")
    return Page{"text/html; charset=utf-8", renderStatusPage(statusPageHtml(), *snapshot())};
  if (path == "/metrics") {
    return Page{"text/plain; version=0.0.4; charset=utf-8",
                prometheusText(*snapshot(), secondsSinceEpoch())};
  }
  if (path == "/status.json") {
    Poco::JSON::Object::Ptr status = snapshot();
    status->set("time_ms", static_cast<int64_t>(secondsSinceEpoch() * 1000));
    std::ostringstream text;
    Poco::JSON::Stringifier::stringify(status, text);
    return Page{"application/json", text.str()};
  }
  return std::nullopt;
}

std::string reply(const std::string &status, const Page &page, bool withBody) {
  std::string head = "HTTP/1.1 " + status + "\r\nContent-Type: " + page.contentType +
                     "\r\nContent-Length: " + std::to_string(page.body.size()) +
                     "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
  return withBody ? head + page.body : head;
}

Page text(const std::string &body) {
  return Page{"text/plain; charset=utf-8", body};
}

// Where a request's head ends (before its blank line), once it has.
std::optional<size_t> headLength(std::string_view received) {
  size_t end = received.find("\r\n\r\n");
  if (end == std::string_view::npos)
    end = received.find("\n\n");  // bare newlines, as curl never sends
  if (end == std::string_view::npos) return std::nullopt;
  return end;
}

}  // namespace

std::string MetricsServer::answer(const std::string &head, const Snapshot &snapshot) {
  // "METHOD TARGET HTTP/1.x": only the request line matters here.
  std::istringstream line(head.substr(0, head.find_first_of("\r\n")));
  std::string method, target, version;
  if (!(line >> method >> target >> version) || !version.starts_with("HTTP/1."))
    return reply("400 Bad Request", text("Wharf serves HTTP/1.x GET requests here.\n"), true);
  bool withBody = method != "HEAD";
  if (method != "GET" && method != "HEAD")
    return reply("405 Method Not Allowed", text("Only GET and HEAD.\n"), withBody);
  std::optional<Page> page;
  try {
    page = render(target.substr(0, target.find('?')), snapshot);
  } catch (const std::exception &error) {
    return reply("503 Service Unavailable", text(std::string("no status: ") + error.what() + "\n"),
                 withBody);
  }
  if (!page)
    return reply("404 Not Found", text("Wharf serves GET /, /status.json and /metrics here.\n"),
                 withBody);
  return reply("200 OK", *page, withBody);
}

MetricsServer::MetricsServer(const net::Endpoint &endpoint, Snapshot snapshot)
    : endpoint_(endpoint), snapshot_(std::move(snapshot)) {
  try {
    // A unix socket: only a stale one (a wharfd that did not stop cleanly) is replaced.
    socket_ = std::make_unique<net::ListenSocket>(endpoint, 64);
  } catch (const std::runtime_error &error) {
    throw std::runtime_error(std::string("metrics ") + error.what());
  }
  if (net::isUnix(endpoint.transport)) ::chmod(endpoint.text.c_str(), 0660);
  net::FileDescriptor served(::fcntl(socket_->fd(), F_DUPFD_CLOEXEC, 0));
  if (!served.valid() || ::fcntl(served.fd(), F_SETFL, O_NONBLOCK) != 0)
    throw std::runtime_error("metrics " + endpoint.text + ": " + std::strerror(errno));
  server_ = std::make_unique<control::RequestServer>(
      "metrics", std::move(served), headLength,
      [this](const std::string &head) { return answer(head, snapshot_); });
}

MetricsServer::~MetricsServer() {
  server_.reset();  // before the socket: its thread uses it
}

}  // namespace wharf::metrics
