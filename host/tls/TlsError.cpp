#include "tls/TlsError.h"

#include <openssl/err.h>

namespace wharf::tls {

std::string openSslErrors() {
  std::string reasons;
  while (unsigned long code = ::ERR_get_error()) {
    char text[256];
    ::ERR_error_string_n(code, text, sizeof text);
    reasons += (reasons.empty() ? "" : "; ") + std::string(text);
  }
  return reasons.empty() ? "unknown TLS error" : reasons;
}

}  // namespace wharf::tls
