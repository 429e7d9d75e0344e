#include "tls/TlsStream.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "tls/TlsError.h"

namespace wharf::tls {
namespace {

// What OpenSSL's last queued error says of a failed handshake.
Failure classify(unsigned long error) {
  if (ERR_GET_LIB(error) != ERR_LIB_SSL) return Failure::Other;
  switch (ERR_GET_REASON(error)) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      return Failure::ProtocolVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_CIPHERS_AVAILABLE:
      return Failure::NoSharedCipher;
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
      return Failure::NotTls;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_NO_CERTIFICATES_RETURNED:
      return Failure::ClientCertificate;
    case SSL_R_NO_APPLICATION_PROTOCOL:
      return Failure::NoAlpn;
    default:
      return Failure::Other;
  }
}

}  // namespace

TlsStream::TlsStream(std::shared_ptr<const ServerContext> context, int socket)
    : context_(std::move(context)), ssl_(::SSL_new(context_->get())), socket_(socket) {
  if (ssl_ == nullptr || ::SSL_set_fd(ssl_, socket) != 1) {
    ::SSL_free(ssl_);
    ::ERR_clear_error();
    throw std::bad_alloc();
  }
  ::SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() {
  ::SSL_free(ssl_);
}

TlsStream::Handshake TlsStream::handshake() {
  ::ERR_clear_error();
  int result = ::SSL_do_handshake(ssl_);
  if (result == 1) {
    established_ = true;
    return Handshake::Done;
  }
  int error = ::SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    waitsFor_ = error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    return Handshake::Waiting;
  }
  broken_ = true;
  if (error == SSL_ERROR_SYSCALL || ::ERR_peek_last_error() == 0) {
    int cause = errno;
    failureKind_ = Failure::Closed;
    failure_ =
        cause != 0 && cause != EAGAIN ? std::strerror(cause) : "the client closed the connection";
  } else {
    failureKind_ = classify(::ERR_peek_last_error());
    failure_ = openSslErrors();
  }
  ::ERR_clear_error();
  return Handshake::Failed;
}

TlsStream::Handshake TlsStream::handshakeWithin() {
  ::fcntl(socket_, F_SETFL, ::fcntl(socket_, F_GETFL) | O_NONBLOCK);
  auto deadline = std::chrono::steady_clock::now() + context_->handshakeTimeout();
  Handshake step;
  while ((step = handshake()) == Handshake::Waiting) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd ready{socket_, waitsFor_, 0};
    int count = left.count() > 0 ? ::poll(&ready, 1, static_cast<int>(left.count())) : 0;
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) {
      broken_ = true;
      failureKind_ = count == 0 ? Failure::Timeout : Failure::Other;
      failure_ = count == 0 ? "not finished within tls_handshake_timeout" : std::strerror(errno);
      step = Handshake::Failed;
      break;
    }
  }
  return step;
}

std::optional<std::string> TlsStream::serverName() const {
  const char *name = ::SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name ? std::optional<std::string>(name) : std::nullopt;
}

std::optional<std::string> TlsStream::applicationProtocol() const {
  const unsigned char *name = nullptr;
  unsigned int length = 0;
  ::SSL_get0_alpn_selected(ssl_, &name, &length);
  if (length == 0) return std::nullopt;
  return std::string(reinterpret_cast<const char *>(name), length);
}

std::optional<std::string> TlsStream::clientSubject() const {
  X509 *certificate = ::SSL_get0_peer_certificate(ssl_);
  if (certificate == nullptr) return std::nullopt;
  BIO *text = ::BIO_new(::BIO_s_mem());
  if (text == nullptr) throw std::bad_alloc();
  ::X509_NAME_print_ex(text, ::X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  char *data = nullptr;
  long length = BIO_get_mem_data(text, &data);
  std::string subject(data, static_cast<size_t>(std::max(length, 0L)));
  ::BIO_free(text);
  return subject;
}

std::string TlsStream::cipher() const {
  return ::SSL_CIPHER_get_name(::SSL_get_current_cipher(ssl_));
}

Version TlsStream::version() const {
  return ::SSL_version(ssl_) == TLS1_3_VERSION ? Version::Tls13 : Version::Tls12;
}

ssize_t TlsStream::read(void *buffer, size_t capacity) {
  ::ERR_clear_error();
  size_t got = 0;
  int result = ::SSL_read_ex(ssl_, buffer, capacity, &got);
  readWaitsToWrite_ = false;
  if (result == 1) return static_cast<ssize_t>(got);
  ssize_t failure = failed(result, true);
  readWaitsToWrite_ = failure < 0 && errno == EAGAIN && SSL_want_write(ssl_);
  return failure;
}

// A record at a time (partial writes), as many as the socket takes: a
// reactor session's queue then holds only what the socket refused, not all
// but the first 16 KiB of each write.
ssize_t TlsStream::write(const void *data, size_t length) {
  const char *bytes = static_cast<const char *>(data);
  size_t total = 0;
  while (total < length) {
    ::ERR_clear_error();
    size_t sent = 0;
    int result = ::SSL_write_ex(ssl_, bytes + total, length - total, &sent);
    if (result == 1) {
      total += sent;
      continue;
    }
    if (total == 0) return failed(result, false);
    // What went stays sent; the rest is offered again, from the same byte.
    ::ERR_clear_error();
    break;
  }
  return static_cast<ssize_t>(total);
}

ssize_t TlsStream::failed(int result, bool reading) {
  int cause = errno;
  int error = ::SSL_get_error(ssl_, result);
  ::ERR_clear_error();
  switch (error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      if (reading) return 0;
      errno = EPIPE;
      return -1;
    case SSL_ERROR_SYSCALL:  // the socket failed: its errno (EOF is taken as close_notify)
      broken_ = true;
      errno = cause != 0 ? cause : EPIPE;
      return -1;
    default:  // a bad record, a protocol error: the connection cannot go on
      broken_ = true;
      errno = EPROTO;
      return -1;
  }
}

void TlsStream::close() {
  if (!established_ || broken_) return;
  ::ERR_clear_error();
  ::SSL_shutdown(ssl_);  // sends close_notify; the peer's is not waited for
  ::ERR_clear_error();
}

}  // namespace wharf::tls
