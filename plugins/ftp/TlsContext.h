// Explicit FTPS (RFC 4217) with OpenSSL: one server context per listener,
// made from option.tls_cert and option.tls_key. Data connections must resume
// the control connection's TLS session unless tls_session_reuse = optional,
// so a stolen data connection cannot be served to someone else.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "Stream.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace ftp {

class TlsContext {
 public:
  // Throws std::invalid_argument naming the file and OpenSSL's reason.
  TlsContext(const std::string &certificate, const std::string &key, bool requireReuse);
  ~TlsContext();
  TlsContext(const TlsContext &) = delete;
  TlsContext &operator=(const TlsContext &) = delete;

  // The server side of a handshake on `fd` (made non-blocking). For a data
  // connection pass the control connection's stream in `control`. Null, with
  // the reason in `error`, if it fails or takes longer than `timeout`.
  std::unique_ptr<Stream> accept(int fd, Stream *control, std::chrono::milliseconds timeout,
                                 std::string &error) const;

 private:
  SSL_CTX *context_;
  bool requireReuse_;
};

}  // namespace ftp
