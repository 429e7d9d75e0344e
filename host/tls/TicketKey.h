// Internal. A session ticket key as nginx and HAProxy keep theirs (RFC 5077's
// layout): the name each ticket carries in the clear, so that the key that
// sealed it is found again, an AES-256-CBC key and an HMAC-SHA256 key, 80
// bytes in all; and a listener's list of them as the master passes it to its
// workers and across an upgrade (the keys one after another, the one that
// seals new tickets first). Never logged, never written to a file.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace wharf::tls {

struct TicketKey {
  std::array<unsigned char, 16> name;
  std::array<unsigned char, 32> cipherKey;
  std::array<unsigned char, 32> macKey;

  bool operator==(const TicketKey &) const = default;
};

constexpr size_t kTicketKeySize = 80;

// A new key from the kernel's random source (getrandom). Throws
// std::system_error if it refuses.
TicketKey randomTicketKey();

std::string encodeTicketKeys(const std::vector<TicketKey> &keys);
// Throws std::invalid_argument if `bytes` is not whole keys.
std::vector<TicketKey> decodeTicketKeys(std::string_view bytes);

}  // namespace wharf::tls
