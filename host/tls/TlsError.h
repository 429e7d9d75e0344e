// Internal. OpenSSL's reason for what just failed, as text, and a listener's
// TLS settings that OpenSSL refused, naming the key they came from.
#pragma once

#include <stdexcept>
#include <string>

namespace wharf::tls {

// The reasons OpenSSL queued on this thread, oldest first, joined by "; "
// (its error queue is emptied): "unknown TLS error" if there is none.
std::string openSslErrors();

class SettingsError : public std::runtime_error {
 public:
  SettingsError(std::string key, const std::string &reason)
      : std::runtime_error(reason), key_(std::move(key)) {}
  const std::string &key() const { return key_; }

 private:
  std::string key_;  // "tls_cert", "tls_key", "tls_protocols", "tls_ciphers"
};

}  // namespace wharf::tls
