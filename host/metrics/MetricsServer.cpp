#include "metrics/MetricsServer.h"

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <fcntl.h>

#include <stdexcept>

namespace wharf::metrics {
namespace {

constexpr auto kContentType = "text/plain; version=0.0.4; charset=utf-8";

class MetricsHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit MetricsHandler(const MetricsServer::Scrape &scrape) : scrape_(scrape) {}

  void handleRequest(Poco::Net::HTTPServerRequest &request,
                     Poco::Net::HTTPServerResponse &response) override {
    if (request.getURI() != "/metrics" ||
        (request.getMethod() != "GET" && request.getMethod() != "HEAD")) {
      response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
      response.setContentType("text/plain");
      response.send() << "Wharf serves GET /metrics here.\n";
      return;
    }
    std::string text;
    try {
      text = scrape_();
    } catch (const std::exception &error) {
      response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE);
      response.setContentType("text/plain");
      response.send() << "no status: " << error.what() << "\n";
      return;
    }
    response.setContentType(kContentType);
    response.setContentLength(static_cast<std::streamsize>(text.size()));
    std::ostream &body = response.send();
    if (request.getMethod() != "HEAD") body << text;
  }

 private:
  const MetricsServer::Scrape &scrape_;
};

class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit HandlerFactory(MetricsServer::Scrape scrape) : scrape_(std::move(scrape)) {}
  Poco::Net::HTTPRequestHandler *createRequestHandler(
      const Poco::Net::HTTPServerRequest &) override {
    return new MetricsHandler(scrape_);
  }

 private:
  MetricsServer::Scrape scrape_;
};

}  // namespace

MetricsServer::MetricsServer(const net::Endpoint &endpoint, Scrape scrape) {
  try {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(
        endpoint.address.get(), static_cast<poco_socklen_t>(endpoint.address.length())));
    // Poco opens it without close-on-exec: workers and an upgrade's new
    // binary must not inherit the endpoint.
    ::fcntl(socket.impl()->sockfd(), F_SETFD, FD_CLOEXEC);
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(kThreads);
    params->setMaxQueued(kQueue);
    params->setTimeout(Poco::Timespan(5, 0));
    params->setKeepAlive(false);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(std::move(scrape)), socket,
                                                      params);
    server_->start();
  } catch (const Poco::Exception &error) {
    throw std::runtime_error("metrics " + endpoint.text + ": " + error.displayText());
  }
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stopAll(true);
}

}  // namespace wharf::metrics
