#include "tls/TicketKeys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <strings.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <new>
#include <string_view>

namespace wharf::tls {
namespace {

// Where each SSL_CTX keeps its TicketKeys (the callback takes no argument).
int exDataIndex() {
  static const int index = ::SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Where each connection keeps the name its ClientHello asked for (freed with it).
int askedNameIndex() {
  static const int index = ::SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void *, void *name, CRYPTO_EX_DATA *, int, long, void *) {
        delete static_cast<std::string *>(name);
      });
  return index;
}

// The host name of a server_name extension (RFC 6066 §3: a list of names,
// each a type byte and a length-prefixed name); empty if it names none.
std::string hostNameOf(const unsigned char *extension, size_t length) {
  if (length < 2) return "";
  size_t list = static_cast<size_t>(extension[0]) << 8 | extension[1];
  const unsigned char *at = extension + 2;
  const unsigned char *end = extension + std::min(length, list + 2);
  while (end - at >= 3) {
    size_t name = static_cast<size_t>(at[1]) << 8 | at[2];
    if (static_cast<size_t>(end - at - 3) < name) break;
    if (at[0] == TLSEXT_NAMETYPE_host_name) return std::string(at + 3, at + 3 + name);
    at += 3 + name;
  }
  return "";
}

bool sameHostName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool useMacKey(EVP_MAC_CTX *mac, const TicketKey &key) {
  OSSL_PARAM params[] = {
      ::OSSL_PARAM_construct_octet_string(
          OSSL_MAC_PARAM_KEY, const_cast<unsigned char *>(key.macKey.data()), key.macKey.size()),
      ::OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char *>("SHA256"), 0),
      ::OSSL_PARAM_construct_end()};
  return ::EVP_MAC_CTX_set_params(mac, params) == 1;
}

}  // namespace

std::shared_ptr<TicketKeys> TicketKeys::forListener(const std::string &name) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<TicketKeys>> listeners;
  std::lock_guard lock(mutex);
  auto &keys = listeners[name];
  if (!keys) keys = std::make_shared<TicketKeys>();
  return keys;
}

void TicketKeys::replace(std::vector<TicketKey> keys) {
  std::lock_guard lock(mutex_);
  keys_ = std::move(keys);
  ++changes_;
}

std::vector<TicketKey> TicketKeys::keys() const {
  std::lock_guard lock(mutex_);
  return keys_;
}

uint64_t TicketKeys::changes() const {
  std::lock_guard lock(mutex_);
  return changes_;
}

void TicketKeys::useIn(SSL_CTX *context) {
  ::SSL_CTX_set_ex_data(context, exDataIndex(), this);
  ::SSL_CTX_set_tlsext_ticket_key_evp_cb(context, callback);
  ::SSL_CTX_set_client_hello_cb(context, noteAskedName, nullptr);
  ::SSL_CTX_set_session_ticket_cb(context, sealing, opened, nullptr);
}

int TicketKeys::sealing(SSL *ssl, void *) {
  const auto *asked = static_cast<const std::string *>(::SSL_get_ex_data(ssl, askedNameIndex()));
  std::string_view name = asked ? std::string_view(*asked) : std::string_view();
  return ::SSL_SESSION_set1_ticket_appdata(::SSL_get0_session(ssl), name.data(), name.size());
}

int TicketKeys::noteAskedName(SSL *ssl, int *, void *) {
  const unsigned char *extension = nullptr;
  size_t length = 0;
  auto *asked = static_cast<std::string *>(::SSL_get_ex_data(ssl, askedNameIndex()));
  if (asked == nullptr) {
    asked = new (std::nothrow) std::string;
    if (asked == nullptr || ::SSL_set_ex_data(ssl, askedNameIndex(), asked) != 1) {
      delete asked;
      return SSL_CLIENT_HELLO_ERROR;
    }
  }
  asked->clear();
  if (::SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &extension, &length) == 1)
    *asked = hostNameOf(extension, length);
  return SSL_CLIENT_HELLO_SUCCESS;
}

SSL_TICKET_RETURN TicketKeys::opened(SSL *ssl, SSL_SESSION *session, const unsigned char *, size_t,
                                     SSL_TICKET_STATUS status, void *) {
  switch (status) {
    case SSL_TICKET_FATAL_ERR_MALLOC:
    case SSL_TICKET_FATAL_ERR_OTHER:
      return SSL_TICKET_RETURN_ABORT;
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW: {
      const auto *asked =
          static_cast<const std::string *>(::SSL_get_ex_data(ssl, askedNameIndex()));
      void *issued = nullptr;
      size_t length = 0;
      if (asked == nullptr || ::SSL_SESSION_get0_ticket_appdata(session, &issued, &length) != 1 ||
          !sameHostName(std::string_view(static_cast<const char *>(issued), length), *asked))
        return SSL_TICKET_RETURN_IGNORE_RENEW;  // a full handshake, and a ticket for this name
      return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
    }
    default:  // none, empty, or not ours
      return SSL_TICKET_RETURN_IGNORE_RENEW;
  }
}

int TicketKeys::callback(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cipher,
                         EVP_MAC_CTX *mac, int seal) {
  // OpenSSL asks the context the session began on, before any SNI switch:
  // every context of a listener holds the same keys anyway.
  const auto *self =
      static_cast<const TicketKeys *>(::SSL_CTX_get_ex_data(::SSL_get_SSL_CTX(ssl), exDataIndex()));
  if (self == nullptr) return seal ? -1 : 0;
  return seal ? self->seal(name, iv, cipher, mac) : self->open(name, iv, cipher, mac);
}

int TicketKeys::seal(unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cipher,
                     EVP_MAC_CTX *mac) const {
  std::lock_guard lock(mutex_);
  if (keys_.empty()) return 0;  // none passed yet: no ticket
  const TicketKey &key = keys_.front();
  if (::RAND_bytes(iv, EVP_CIPHER_get_iv_length(::EVP_aes_256_cbc())) != 1) return -1;
  std::memcpy(name, key.name.data(), key.name.size());
  if (::EVP_EncryptInit_ex(cipher, ::EVP_aes_256_cbc(), nullptr, key.cipherKey.data(), iv) != 1 ||
      !useMacKey(mac, key))
    return -1;
  return 1;
}

int TicketKeys::open(const unsigned char *name, const unsigned char *iv, EVP_CIPHER_CTX *cipher,
                     EVP_MAC_CTX *mac) const {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < keys_.size(); ++i) {
    const TicketKey &key = keys_[i];
    if (std::memcmp(name, key.name.data(), key.name.size()) != 0) continue;
    if (!useMacKey(mac, key) ||
        ::EVP_DecryptInit_ex(cipher, ::EVP_aes_256_cbc(), nullptr, key.cipherKey.data(), iv) != 1)
      return -1;
    return i == 0 ? 1 : 2;
  }
  return 0;  // a key rotated out, or another server's: a full handshake
}

}  // namespace wharf::tls
