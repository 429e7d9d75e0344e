// Internal. A TLS listener's session ticket keys as a worker holds them: the
// master makes and rotates them (master/TicketKeyRing) and passes them to
// every worker that serves the listener, so a ticket one worker issued
// resumes on any other, after a reload that replaced the listener's context,
// and after a binary upgrade. The first key seals new tickets; every key
// opens them, and a ticket opened by another than the first is renewed.
// THREAD: any.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tls/TicketKey.h"

namespace wharf::tls {

class TicketKeys {
 public:
  // This process's keys for listener `name` (none yet, the first time): each
  // of its contexts, the ones a reload builds too, uses this one object.
  static std::shared_ptr<TicketKeys> forListener(const std::string &name);

  // `keys`: the one that seals first. Sessions under way take them at once.
  void replace(std::vector<TicketKey> keys);
  std::vector<TicketKey> keys() const;
  // How many times replace() has run: a fork listener's helper, which has
  // its own copy, is passed them again when this has moved.
  uint64_t changes() const;
  // Makes `context` seal and open its tickets with these keys, which must
  // outlive it. A ticket resumes only under the name (SNI) it was issued for
  // (RFC 6066 §3): the name picks the certificate, and one listener may
  // serve several.
  void useIn(SSL_CTX *context);

 private:
  // OpenSSL's ticket callback: 1 sealed or opened with the first key, 2
  // opened with another (renew it), 0 not ours (a full handshake), -1 error.
  static int callback(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cipher,
                      EVP_MAC_CTX *mac, int seal);
  // Before anything else of a ClientHello: notes the name the client asks
  // for (OpenSSL reads a TLS 1.2 ticket before the server_name extension).
  static int noteAskedName(SSL *ssl, int *alert, void *unused);
  // A ticket is made: it carries the name asked for (its app data).
  static int sealing(SSL *ssl, void *unused);
  // A ticket opened: used only if it was made for the name asked now.
  static SSL_TICKET_RETURN opened(SSL *ssl, SSL_SESSION *session, const unsigned char *keyName,
                                  size_t keyNameLength, SSL_TICKET_STATUS status, void *unused);
  int seal(unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac) const;
  int open(const unsigned char *name, const unsigned char *iv, EVP_CIPHER_CTX *cipher,
           EVP_MAC_CTX *mac) const;

  mutable std::mutex mutex_;
  std::vector<TicketKey> keys_;
  uint64_t changes_ = 0;
};

}  // namespace wharf::tls
