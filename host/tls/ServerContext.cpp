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
  X509 *leaf = ::PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr);
  if (leaf == nullptr)
    throw SettingsError("tls_cert", where + "no PEM certificate (" + openSslErrors() + ")");
  tm expiry{};
  if (::ASN1_TIME_to_tm(::X509_get0_notAfter(leaf), &expiry) == 1)
    certificateExpiry = ::timegm(&expiry);
  int used = ::SSL_CTX_use_certificate(context, leaf);
  ::X509_free(leaf);
  if (used != 1) throw SettingsError("tls_cert", where + openSslErrors());
  ::SSL_CTX_clear_chain_certs(context);
  while (X509 *next = ::PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
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
  EVP_PKEY *key = ::PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
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
}

ServerContext::~ServerContext() {
  ::SSL_CTX_free(context_);
}

std::shared_ptr<const ServerContext> contextFor(const config::TlsSettings &settings) {
  if (!settings.enabled) return nullptr;
  return std::make_shared<const ServerContext>(settings);
}

}  // namespace wharf::tls
