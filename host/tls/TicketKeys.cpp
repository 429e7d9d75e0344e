#include "tls/TicketKeys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <map>

namespace wharf::tls {
namespace {

// Where each SSL_CTX keeps its TicketKeys (the callback takes no argument).
int exDataIndex() {
  static const int index = ::SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
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
