#include "metrics/MetricsServer.h"

#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <stdexcept>

#include "metrics/PrometheusText.h"
#include "metrics/StatusPage.h"
#include "net/UnixSocketFile.h"

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
  if (path == "/") return Page{"text/html; charset=utf-8", std::string(statusPageHtml())};
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

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(const MetricsServer::Snapshot &snapshot) : snapshot_(snapshot) {}

  void handleRequest(Poco::Net::HTTPServerRequest &request,
                     Poco::Net::HTTPServerResponse &response) override {
    bool head = request.getMethod() == "HEAD";
    std::optional<Page> page;
    try {
      if (head || request.getMethod() == "GET") page = render(request.getURI(), snapshot_);
    } catch (const std::exception &error) {
      return sendText(response, Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
                      std::string("no status: ") + error.what() + "\n");
    }
    if (!page)
      return sendText(response, Poco::Net::HTTPResponse::HTTP_NOT_FOUND,
                      "Wharf serves GET /, /status.json and /metrics here.\n");
    response.setContentType(page->contentType);
    response.set("Cache-Control", "no-store");
    response.setContentLength(static_cast<std::streamsize>(page->body.size()));
    std::ostream &body = response.send();
    if (!head) body << page->body;
  }

 private:
  static void sendText(Poco::Net::HTTPServerResponse &response,
                       Poco::Net::HTTPResponse::HTTPStatus status, const std::string &text) {
    response.setStatusAndReason(status);
    response.setContentType("text/plain");
    response.send() << text;
  }

  const MetricsServer::Snapshot &snapshot_;
};

class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit HandlerFactory(MetricsServer::Snapshot snapshot) : snapshot_(std::move(snapshot)) {}
  Poco::Net::HTTPRequestHandler *createRequestHandler(
      const Poco::Net::HTTPServerRequest &) override {
    return new Handler(snapshot_);
  }

 private:
  MetricsServer::Snapshot snapshot_;
};

Poco::Net::SocketAddress addressOf(const net::Endpoint &endpoint) {
  if (net::isUnix(endpoint.transport))
    return Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, endpoint.text);
  return Poco::Net::SocketAddress(endpoint.address.get(),
                                  static_cast<poco_socklen_t>(endpoint.address.length()));
}

}  // namespace

MetricsServer::MetricsServer(const net::Endpoint &endpoint, Snapshot snapshot)
    : endpoint_(endpoint) {
  try {
    // Only a stale socket (a wharfd that did not stop cleanly) is replaced.
    if (net::isUnix(endpoint.transport)) net::removeStaleUnixSocket(endpoint.text, SOCK_STREAM);
    Poco::Net::ServerSocket socket(addressOf(endpoint));
    // Poco opens it without close-on-exec: workers and an upgrade's new
    // binary must not inherit the endpoint.
    ::fcntl(socket.impl()->sockfd(), F_SETFD, FD_CLOEXEC);
    if (net::isUnix(endpoint.transport)) ::chmod(endpoint.text.c_str(), 0660);
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(kThreads);
    params->setMaxQueued(kQueue);
    params->setTimeout(Poco::Timespan(5, 0));
    params->setKeepAlive(false);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(std::move(snapshot)),
                                                      socket, params);
    server_->start();
  } catch (const Poco::Exception &error) {
    throw std::runtime_error("metrics " + endpoint.text + ": " + error.displayText());
  } catch (const std::runtime_error &refusal) {  // the path holds what is not ours
    throw std::runtime_error(std::string("metrics ") + refusal.what());
  }
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stopAll(true);
  if (server_ && net::isUnix(endpoint_.transport)) ::unlink(endpoint_.text.c_str());
}

}  // namespace wharf::metrics
