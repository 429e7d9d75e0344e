#include "tls/ServerContext.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>

#include "tls/TlsError.h"

namespace wharf::tls {
namespace {

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
void useCertificateChain(SSL_CTX *context, const config::TlsSettings &settings,
                         int64_t &certificateExpiry) {
  const std::string where = settings.certificateFile.string() + ": ";
  Bio bio = memoryBio(settings.certificatePem);
  X509 *leaf = ::PEM_read_bio_X509_AUX(bio.get(), nullptr, noPassphrase, nullptr);
  if (leaf == nullptr)
    throw SettingsError("tls_cert", where + "no PEM certificate (" + openSslErrors() + ")");
  tm expiry{};
  if (::ASN1_TIME_to_tm(::X509_get0_notAfter(leaf), &expiry) == 1)
    certificateExpiry = ::timegm(&expiry);
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

void usePrivateKey(SSL_CTX *context, const config::TlsSettings &settings) {
  const std::string where = settings.keyFile.string() + ": ";
  Bio bio = memoryBio(settings.keyPem);
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
                                       settings.certificateFile.string() + " (" + openSslErrors() +
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

ServerContext::ServerContext(const config::TlsSettings &settings)
    : context_(::SSL_CTX_new(::TLS_server_method())), handshakeTimeout_(settings.handshakeTimeout) {
  ::ERR_clear_error();
  if (context_ == nullptr) throw std::bad_alloc();
  try {
    if (::SSL_CTX_set_min_proto_version(context_, protocolVersion(settings.minProtocol)) != 1 ||
        ::SSL_CTX_set_max_proto_version(context_, protocolVersion(settings.maxProtocol)) != 1)
      throw SettingsError("tls_protocols", openSslErrors());
    if (!settings.ciphers.empty() &&
        ::SSL_CTX_set_cipher_list(context_, settings.ciphers.c_str()) != 1)
      throw SettingsError("tls_ciphers", "no cipher OpenSSL knows in '" + settings.ciphers + "'");
    useCertificateChain(context_, settings, certificateExpiry_);
    usePrivateKey(context_, settings);
    if (settings.verifyClient != config::TlsSettings::VerifyClient::Off)
      useClientAuthorities(context_, settings);
  } catch (...) {
    ::SSL_CTX_free(context_);
    throw;
  }
  // Sessions write from a queue that moves as it grows, a record at a time;
  // no renegotiation (a client could make the server work for each); a peer
  // that closes without close_notify has closed (as most clients do).
  ::SSL_CTX_set_mode(context_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                   SSL_MODE_RELEASE_BUFFERS);
  ::SSL_CTX_set_options(context_, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                      SSL_OP_CIPHER_SERVER_PREFERENCE);
  for (const std::string &name : settings.alpn) alpn_ += static_cast<char>(name.size()) + name;
  if (!alpn_.empty()) ::SSL_CTX_set_alpn_select_cb(context_, selectProtocol, this);
}

ServerContext::~ServerContext() {
  ::SSL_CTX_free(context_);
}

}  // namespace wharf::tls
