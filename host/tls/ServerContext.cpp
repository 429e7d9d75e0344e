#include "tls/ServerContext.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <limits>

#include "tls/TlsError.h"

namespace wharf::tls {
namespace {

// TLS 1.3 tickets sent after each handshake (OpenSSL's default): a client
// may use one for each of two connections it opens at once.
constexpr size_t kTls13Tickets = 2;

int protocolVersion(const std::string &name) {
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  throw SettingsError("tls_protocols", "unknown protocol " + name);
}

struct BioDeleter {
  void operator()(BIO *bio) const { ::BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

// A key with a passphrase is refused: OpenSSL's default would ask for it on
// the terminal, and a reload would wait there.
int noPassphrase(char *, int, int, void *) {
  return 0;
}

Bio memoryBio(const std::string &text) {
  Bio bio(::BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) throw std::bad_alloc();
  return bio;
}

// The chain, leaf first, as SSL_CTX_use_certificate_chain_file reads it, but
// from the text the config holds.
void useCertificateChain(SSL_CTX *context, const config::TlsIdentity &identity,
                         int64_t &certificateExpiry) {
  const std::string where = identity.certificateFile.string() + ": ";
  Bio bio = memoryBio(identity.certificatePem);
  X509 *leaf = ::PEM_read_bio_X509_AUX(bio.get(), nullptr, noPassphrase, nullptr);
  if (leaf == nullptr)
    throw SettingsError("tls_cert", where + "no PEM certificate (" + openSslErrors() + ")");
  tm expiry{};
  if (::ASN1_TIME_to_tm(::X509_get0_notAfter(leaf), &expiry) == 1)
    certificateExpiry = std::min<int64_t>(certificateExpiry, ::timegm(&expiry));
  int used = ::SSL_CTX_use_certificate(context, leaf);
  ::X509_free(leaf);
  if (used != 1) throw SettingsError("tls_cert", where + openSslErrors());
  ::SSL_CTX_clear_chain_certs(context);
  while (X509 *next = ::PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr)) {
    if (::SSL_CTX_add0_chain_cert(context, next) != 1) {
      ::X509_free(next);
      throw SettingsError("tls_cert", where + openSslErrors());
    }
  }
  // The end of the text, or a block that is not a certificate.
  unsigned long last = ::ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)
    ::ERR_clear_error();
  else if (last != 0)
    throw SettingsError("tls_cert", where + openSslErrors());
}

void usePrivateKey(SSL_CTX *context, const config::TlsIdentity &identity) {
  const std::string where = identity.keyFile.string() + ": ";
  Bio bio = memoryBio(identity.keyPem);
  EVP_PKEY *key = ::PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr);
  if (key == nullptr)
    throw SettingsError("tls_key", where + "no PEM private key, or one with a passphrase (" +
                                       openSslErrors() + ")");
  int used = ::SSL_CTX_use_PrivateKey(context, key);
  ::EVP_PKEY_free(key);
  unsigned long last = ::ERR_peek_last_error();
  bool mismatch =
      ERR_GET_LIB(last) == ERR_LIB_X509 && ERR_GET_REASON(last) == X509_R_KEY_VALUES_MISMATCH;
  if (mismatch || ::SSL_CTX_check_private_key(context) != 1)
    throw SettingsError("tls_key", where + "does not match the certificate in " +
                                       identity.certificateFile.string() + " (" + openSslErrors() +
                                       ")");
  if (used != 1) throw SettingsError("tls_key", where + openSslErrors());
}

// tls_client_ca's authorities: those a client's certificate must chain to,
// and the names sent in the certificate request.
void useClientAuthorities(SSL_CTX *context, const config::TlsSettings &settings) {
  const std::string where = settings.clientCaFile.string() + ": ";
  Bio bio = memoryBio(settings.clientCaPem);
  X509_STORE *store = ::SSL_CTX_get_cert_store(context);
  STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
  if (names == nullptr) throw std::bad_alloc();
  size_t count = 0;
  while (X509 *authority = ::PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr)) {
    ++count;
    X509_NAME *name = ::X509_NAME_dup(::X509_get_subject_name(authority));
    bool added = ::X509_STORE_add_cert(store, authority) == 1 && name != nullptr &&
                 sk_X509_NAME_push(names, name) > 0;
    ::X509_free(authority);
    if (!added) {
      ::X509_NAME_free(name);
      sk_X509_NAME_pop_free(names, ::X509_NAME_free);
      throw SettingsError("tls_client_ca", where + openSslErrors());
    }
  }
  ::ERR_clear_error();  // the end of the text
  ::SSL_CTX_set_client_CA_list(context, names);
  if (count == 0) throw SettingsError("tls_client_ca", where + "no PEM certificate");
  int mode = SSL_VERIFY_PEER;
  if (settings.verifyClient == config::TlsSettings::VerifyClient::On)
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  ::SSL_CTX_set_verify(context, mode, nullptr);
}

// ALPN (RFC 7301): the first of the listener's protocols the client offers;
// none in common ends the handshake with no_application_protocol. A client
// that offers none goes on without.
int selectProtocol(SSL *, const unsigned char **out, unsigned char *outLength,
                   const unsigned char *offered, unsigned int offeredLength, void *argument) {
  const std::string &ours = static_cast<const ServerContext *>(argument)->alpn();
  unsigned char *chosen = nullptr;
  if (::SSL_select_next_proto(
          &chosen, outLength, reinterpret_cast<const unsigned char *>(ours.data()),
          static_cast<unsigned>(ours.size()), offered, offeredLength) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

ServerContext::ServerContext(const config::TlsSettings &settings,
                             std::shared_ptr<TicketKeys> ticketKeys)
    : ticketKeys_(settings.tickets ? std::move(ticketKeys) : nullptr),
      handshakeTimeout_(settings.handshakeTimeout) {
  for (const std::string &name : settings.alpn) alpn_ += static_cast<char>(name.size()) + name;
  try {
    for (const config::TlsIdentity &identity : settings.identities)
      contexts_.push_back(contextFor(settings, identity));
  } catch (...) {
    for (SSL_CTX *context : contexts_) ::SSL_CTX_free(context);
    throw;
  }
  // Several certificates: the client's SNI name picks one.
  if (contexts_.size() > 1) {
    ::SSL_CTX_set_tlsext_servername_callback(contexts_.front(), chooseCertificate);
    ::SSL_CTX_set_tlsext_servername_arg(contexts_.front(), this);
  }
}

// One SSL_CTX per certificate, each with all of the listener's settings (a
// session switched to one by its SNI name reads ALPN and the client CA there).
SSL_CTX *ServerContext::contextFor(const config::TlsSettings &settings,
                                   const config::TlsIdentity &identity) {
  ::ERR_clear_error();
  SSL_CTX *context = ::SSL_CTX_new(::TLS_server_method());
  if (context == nullptr) throw std::bad_alloc();
  try {
    if (::SSL_CTX_set_min_proto_version(context, protocolVersion(settings.minProtocol)) != 1 ||
        ::SSL_CTX_set_max_proto_version(context, protocolVersion(settings.maxProtocol)) != 1)
      throw SettingsError("tls_protocols", openSslErrors());
    if (!settings.ciphers.empty() &&
        ::SSL_CTX_set_cipher_list(context, settings.ciphers.c_str()) != 1)
      throw SettingsError("tls_ciphers", "no cipher OpenSSL knows in '" + settings.ciphers + "'");
    useCertificateChain(context, identity, certificateExpiry_);
    usePrivateKey(context, identity);
    if (settings.verifyClient != config::TlsSettings::VerifyClient::Off)
      useClientAuthorities(context, settings);
  } catch (...) {
    ::SSL_CTX_free(context);
    throw;
  }
  // Sessions write from a queue that moves as it grows, a record at a time;
  // no renegotiation (a client could make the server work for each); a peer
  // that closes without close_notify has closed (as most clients do).
  ::SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  ::SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!alpn_.empty()) ::SSL_CTX_set_alpn_select_cb(context, selectProtocol, this);
  // A session resumes only where it began: under the same client
  // verification (OpenSSL refuses any resumption where a client certificate
  // is asked for and this is unset, with a fatal alert). The same for each
  // certificate's context, so that SNI may switch between them.
  unsigned char sessionContext[SHA256_DIGEST_LENGTH];
  std::string scope =
      std::to_string(static_cast<int>(settings.verifyClient)) + '\n' + settings.clientCaPem;
  ::SHA256(reinterpret_cast<const unsigned char *>(scope.data()), scope.size(), sessionContext);
  ::SSL_CTX_set_session_id_context(context, sessionContext, sizeof sessionContext);
  // No cache of sessions in the worker (OpenSSL keeps up to 20,480 by
  // default), which a client that lands on another worker would miss:
  // clients resume with tickets (TLS 1.2's RFC 5077 and TLS 1.3's), sealed
  // with the listener's keys, which every worker has.
  ::SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  if (ticketKeys_) {
    ticketKeys_->useIn(context);
    ::SSL_CTX_set_num_tickets(context, kTls13Tickets);
    // A ticket's key seals for one rotation and opens for one more, so a
    // ticket is good for one to two: OpenSSL's own limit (2 hours by
    // default) must not end it sooner.
    ::SSL_CTX_set_timeout(
        context,
        static_cast<long>(
            std::chrono::duration_cast<std::chrono::seconds>(2 * settings.ticketRotation).count()));
  } else {
    // No ticket in TLS 1.2; in TLS 1.3 this would ask for stateful tickets,
    // which a server without a cache cannot honour, so none at all.
    ::SSL_CTX_set_options(context, SSL_OP_NO_TICKET);
    ::SSL_CTX_set_num_tickets(context, 0);
  }
  return context;
}

int ServerContext::chooseCertificate(SSL *ssl, int *, void *argument) {
  const auto &self = *static_cast<const ServerContext *>(argument);
  const char *name = ::SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;  // no name: the first certificate
  for (SSL_CTX *context : self.contexts_)
    if (::X509_check_host(::SSL_CTX_get0_certificate(context), name, 0, 0, nullptr) == 1) {
      if (context != self.contexts_.front()) ::SSL_set_SSL_CTX(ssl, context);
      return SSL_TLSEXT_ERR_OK;
    }
  return SSL_TLSEXT_ERR_OK;  // a name no certificate has: the first
}

ServerContext::~ServerContext() {
  for (SSL_CTX *context : contexts_) ::SSL_CTX_free(context);
}

}  // namespace wharf::tls
