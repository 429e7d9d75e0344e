// Internal. How a TLS handshake ended, as the metrics count it: the protocol
// version agreed on, or why there was none.
#pragma once

#include <cstddef>

namespace wharf::tls {

enum class Version { Tls12, Tls13, Count };
const char *versionName(Version version);  // "TLSv1.2", "TLSv1.3"

enum class Failure {
  Timeout,            // not done within tls_handshake_timeout
  Closed,             // the client closed or reset the connection
  ProtocolVersion,    // no version both offer
  NoSharedCipher,     // no cipher both offer
  NotTls,             // plaintext (an HTTP request, a line protocol) or garbage
  ClientCertificate,  // tls_verify_client: none shown, or one the authorities did not sign
  NoAlpn,             // tls_alpn: none of the client's protocols is the listener's
  Other,              // any other alert or error
  Count
};
const char *failureName(Failure failure);  // "timeout", "closed", ...

}  // namespace wharf::tls
