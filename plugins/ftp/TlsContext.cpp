#include "TlsContext.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <cerrno>
#include <stdexcept>

namespace ftp {
namespace {

std::string openSslError() {
  unsigned long code = ::ERR_get_error();
  if (code == 0) return "unknown TLS error";
  char text[256];
  ::ERR_error_string_n(code, text, sizeof text);
  ::ERR_clear_error();
  return text;
}

class TlsStream : public Stream {
 public:
  TlsStream(int fd, SSL *ssl) : Stream(fd), ssl_(ssl) {}
  ~TlsStream() override { ::SSL_free(ssl_); }

  ssize_t read(void *buffer, size_t capacity) override {
    size_t got = 0;
    if (::SSL_read_ex(ssl_, buffer, capacity, &got) == 1) return static_cast<ssize_t>(got);
    return failure(true);
  }
  ssize_t write(const void *data, size_t length) override {
    size_t sent = 0;
    if (::SSL_write_ex(ssl_, data, length, &sent) == 1) return static_cast<ssize_t>(sent);
    return failure(false);
  }
  bool pending() const override { return ::SSL_pending(ssl_) > 0; }
  short waitEvents(bool reading) const override {
    return wantWrite_ ? POLLOUT : wantRead_ ? POLLIN : (reading ? POLLIN : POLLOUT);
  }
  void finish() override { ::SSL_shutdown(ssl_); }
  bool encrypted() const override { return true; }
  SSL *ssl() const { return ssl_; }

 private:
  ssize_t failure(bool reading) {
    int error = ::SSL_get_error(ssl_, -1);
    wantRead_ = error == SSL_ERROR_WANT_READ;
    wantWrite_ = error == SSL_ERROR_WANT_WRITE;
    if (wantRead_ || wantWrite_) return kWouldBlock;
    int cause = errno;
    ::ERR_clear_error();
    if (reading && error == SSL_ERROR_ZERO_RETURN) return 0;  // close_notify
    // A peer closing without close_notify ends the stream too (many clients
    // do); a reset does not: an upload cut short is not complete.
    if (reading && error == SSL_ERROR_SYSCALL && cause == 0) return 0;
    return -1;
  }

  SSL *ssl_;
  bool wantRead_ = false, wantWrite_ = false;
};

}  // namespace

TlsContext::TlsContext(const std::string &certificate, const std::string &key, bool requireReuse)
    : context_(::SSL_CTX_new(::TLS_server_method())), requireReuse_(requireReuse) {
  if (context_ == nullptr) throw std::invalid_argument("TLS: " + openSslError());
  ::SSL_CTX_set_min_proto_version(context_, TLS1_2_VERSION);
  ::SSL_CTX_set_mode(context_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (::SSL_CTX_use_certificate_chain_file(context_, certificate.c_str()) != 1) {
    std::string reason = openSslError();
    ::SSL_CTX_free(context_);
    throw std::invalid_argument("option.tls_cert " + certificate + ": " + reason);
  }
  if (::SSL_CTX_use_PrivateKey_file(context_, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      ::SSL_CTX_check_private_key(context_) != 1) {
    std::string reason = openSslError();
    ::SSL_CTX_free(context_);
    throw std::invalid_argument("option.tls_key " + key + ": " + reason);
  }
  static const unsigned char kSessionContext[] = "wharf-ftp";
  ::SSL_CTX_set_session_id_context(context_, kSessionContext, sizeof kSessionContext - 1);
  ::SSL_CTX_set_session_cache_mode(context_, SSL_SESS_CACHE_SERVER);
}

TlsContext::~TlsContext() {
  ::SSL_CTX_free(context_);
}

std::unique_ptr<Stream> TlsContext::accept(int fd, Stream *control,
                                           std::chrono::milliseconds timeout,
                                           std::string &error) const {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  SSL *ssl = ::SSL_new(context_);
  if (ssl == nullptr || ::SSL_set_fd(ssl, fd) != 1) {
    error = openSslError();
    ::SSL_free(ssl);
    return nullptr;
  }
  // No session tickets on data connections: they resume the control's, and a
  // client that only uploads never reads them, so its close would reset the
  // connection and lose the end of the upload.
  if (control != nullptr) ::SSL_set_num_tickets(ssl, 0);
  auto stream = std::make_unique<TlsStream>(fd, ssl);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int result = ::SSL_accept(ssl);
    if (result == 1) break;
    int reason = ::SSL_get_error(ssl, result);
    if (reason != SSL_ERROR_WANT_READ && reason != SSL_ERROR_WANT_WRITE) {
      error = "handshake: " + openSslError();
      return nullptr;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd ready{fd, static_cast<short>(reason == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) <= 0) {
      error = "handshake timed out";
      return nullptr;
    }
  }
  if (control != nullptr && requireReuse_ && !::SSL_session_reused(ssl)) {
    error =
        "the data connection did not resume the control connection's TLS session "
        "(tls_session_reuse = required)";
    return nullptr;
  }
  return stream;
}

}  // namespace ftp
