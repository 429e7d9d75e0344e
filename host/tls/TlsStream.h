// Internal. TLS on one connection, ended by the host: the handshake, then
// plaintext in and out as recv() and send() would give it, on a blocking or a
// non-blocking socket alike. Where OpenSSL must wait for the socket, a call
// fails with EAGAIN, as the socket itself would. Renegotiation is off, so
// only a read may wait for the other direction (to answer a key update).
// THREAD: its session's.
#pragma once

#include <openssl/ssl.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tls/Handshakes.h"
#include "tls/ServerContext.h"

namespace wharf::tls {

class TlsStream {
 public:
  // Throws std::bad_alloc if OpenSSL cannot have the memory.
  TlsStream(std::shared_ptr<const ServerContext> context, int socket);
  ~TlsStream();
  TlsStream(const TlsStream &) = delete;
  TlsStream &operator=(const TlsStream &) = delete;

  enum class Handshake { Done, Waiting, Failed };
  // One step of the handshake; Waiting: call again once the socket is ready
  // for handshakeWaitsFor(). After Failed, failure() says why.
  Handshake handshake();
  // The handshake, bounded by the context's handshake_timeout however the
  // client drips it. The socket is non-blocking from then on.
  Handshake handshakeWithin();
  bool established() const { return established_; }
  // After Done: what was agreed on. nullopt: the client sent no name (SNI),
  // no protocol was agreed (ALPN), it showed no certificate.
  Version version() const;
  bool resumed() const { return ::SSL_session_reused(ssl_) == 1; }  // by a session ticket
  std::string cipher() const;                                       // OpenSSL's name
  std::optional<std::string> serverName() const;
  std::optional<std::string> applicationProtocol() const;
  std::optional<std::string> clientSubject() const;  // RFC 2253
  // After Failed: why, as text and as the metrics count it.
  const std::string &failure() const { return failure_; }
  Failure failureKind() const { return failureKind_; }

  // As recv(): bytes, 0 once the peer closed, -1 with errno (EAGAIN: wait for waitsFor()).
  ssize_t read(void *buffer, size_t capacity);
  // As send(): bytes taken (whole records, until the socket refuses one), -1
  // with errno. A call after
  // EAGAIN must offer at least the bytes offered before, from the same start.
  ssize_t write(const void *data, size_t length);
  // Bytes the socket carried either way, records and all.
  uint64_t socketBytes() const {
    return ::BIO_number_read(::SSL_get_rbio(ssl_)) + ::BIO_number_written(::SSL_get_wbio(ssl_));
  }
  // Plaintext OpenSSL holds that read() returns without the socket.
  bool pending() const { return ::SSL_pending(ssl_) > 0; }
  // POLLIN or POLLOUT (the same bits as EPOLLIN, EPOLLOUT): what the
  // handshake waits for.
  short handshakeWaitsFor() const { return waitsFor_; }
  // The last read failed with EAGAIN until the socket takes output.
  bool readWaitsToWrite() const { return readWaitsToWrite_; }
  // Sends close_notify if the connection is sound; never waits for the peer's.
  void close();

 private:
  // The result of a call that did not succeed: -1 with errno set.
  ssize_t failed(int result, bool reading);

  std::shared_ptr<const ServerContext> context_;
  SSL *ssl_;
  int socket_;
  bool established_ = false;
  bool broken_ = false;  // a fatal error: no close_notify
  short waitsFor_ = 0;
  bool readWaitsToWrite_ = false;
  std::string failure_;
  Failure failureKind_ = Failure::Other;
};

}  // namespace wharf::tls
