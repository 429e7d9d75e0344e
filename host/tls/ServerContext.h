// Internal. A listener's TLS as OpenSSL holds it (an SSL_CTX per certificate):
// certificate chains, keys, protocol versions, ciphers, client authorities
// and ALPN, built from its TlsSettings, and its session tickets. Each
// session's TlsStream holds a reference, so a reload that replaces it (a
// renewed certificate) leaves running sessions theirs.
// THREAD: any, once built.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "config/Config.h"
#include "tls/TicketKeys.h"

namespace wharf::tls {

class ServerContext {
 public:
  // Throws SettingsError naming the key whose value OpenSSL refused, with its
  // reason (a file that holds no certificate, a key that does not match it).
  // With tls_tickets = on, clients resume with tickets sealed by
  // `ticketKeys` (the listener's, which the master passes); without them (a
  // config check) no ticket is issued.
  explicit ServerContext(const config::TlsSettings &settings,
                         std::shared_ptr<TicketKeys> ticketKeys = nullptr);
  ~ServerContext();
  ServerContext(const ServerContext &) = delete;
  ServerContext &operator=(const ServerContext &) = delete;

  // What a session starts with: the first certificate's.
  SSL_CTX *get() const { return contexts_.front(); }
  std::chrono::milliseconds handshakeTimeout() const { return handshakeTimeout_; }
  // When the first of its certificates (their leaves) expires, in seconds
  // since the Unix epoch.
  int64_t certificateExpiry() const { return certificateExpiry_; }
  // tls_alpn in the wire's form (each name after its length byte); empty: none.
  const std::string &alpn() const { return alpn_; }

 private:
  SSL_CTX *contextFor(const config::TlsSettings &settings, const config::TlsIdentity &identity);
  // OpenSSL's SNI callback: switches the session to the certificate that
  // names the host the client asked for.
  static int chooseCertificate(SSL *ssl, int *alert, void *argument);

  std::shared_ptr<TicketKeys> ticketKeys_;  // null: no tickets
  std::vector<SSL_CTX *> contexts_;         // one per certificate, tls_cert's order
  std::chrono::milliseconds handshakeTimeout_;
  int64_t certificateExpiry_ = std::numeric_limits<int64_t>::max();
  std::string alpn_;
};

}  // namespace wharf::tls
