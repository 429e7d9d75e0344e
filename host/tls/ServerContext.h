// Internal. A listener's TLS as OpenSSL holds it (an SSL_CTX): certificate
// chain, key, protocol versions and ciphers, built from its TlsSettings. One
// per listener; each session's TlsStream holds a reference, so a reload that
// replaces the listener (a new certificate) leaves running sessions theirs.
// THREAD: any, once built.
#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "config/Config.h"

namespace wharf::tls {

class ServerContext {
 public:
  // Throws SettingsError naming the key whose value OpenSSL refused, with its
  // reason (a file that holds no certificate, a key that does not match it).
  explicit ServerContext(const config::TlsSettings &settings);
  ~ServerContext();
  ServerContext(const ServerContext &) = delete;
  ServerContext &operator=(const ServerContext &) = delete;

  SSL_CTX *get() const { return context_; }
  std::chrono::milliseconds handshakeTimeout() const { return handshakeTimeout_; }
  // When the certificate (the leaf) expires, in seconds since the Unix epoch.
  int64_t certificateExpiry() const { return certificateExpiry_; }
  // tls_alpn in the wire's form (each name after its length byte); empty: none.
  const std::string &alpn() const { return alpn_; }

 private:
  SSL_CTX *context_;
  std::chrono::milliseconds handshakeTimeout_;
  int64_t certificateExpiry_ = 0;
  std::string alpn_;
};

}  // namespace wharf::tls
