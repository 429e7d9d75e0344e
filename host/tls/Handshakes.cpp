#include "tls/Handshakes.h"

namespace wharf::tls {

const char *versionName(Version version) {
  switch (version) {
    case Version::Tls12:
      return "TLSv1.2";
    case Version::Tls13:
      return "TLSv1.3";
    case Version::Count:
      break;
  }
  return "?";
}

const char *failureName(Failure failure) {
  switch (failure) {
    case Failure::Timeout:
      return "timeout";
    case Failure::Closed:
      return "closed";
    case Failure::ProtocolVersion:
      return "protocol_version";
    case Failure::NoSharedCipher:
      return "no_shared_cipher";
    case Failure::NotTls:
      return "not_tls";
    case Failure::ClientCertificate:
      return "client_certificate";
    case Failure::NoAlpn:
      return "no_application_protocol";
    case Failure::Other:
      return "other";
    case Failure::Count:
      break;
  }
  return "?";
}

}  // namespace wharf::tls
