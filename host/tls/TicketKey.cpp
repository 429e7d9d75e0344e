#include "tls/TicketKey.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace wharf::tls {

static_assert(sizeof(TicketKey) == kTicketKeySize, "a key is its 80 bytes, with no padding");

TicketKey randomTicketKey() {
  TicketKey key;
  auto *bytes = reinterpret_cast<unsigned char *>(&key);
  for (size_t got = 0; got < sizeof key;) {
    ssize_t read = ::getrandom(bytes + got, sizeof key - got, 0);
    if (read < 0 && errno == EINTR) continue;
    if (read < 0) throw std::system_error(errno, std::generic_category(), "getrandom");
    got += static_cast<size_t>(read);
  }
  return key;
}

std::string encodeTicketKeys(const std::vector<TicketKey> &keys) {
  std::string bytes;
  for (const TicketKey &key : keys) bytes.append(reinterpret_cast<const char *>(&key), sizeof key);
  return bytes;
}

std::vector<TicketKey> decodeTicketKeys(std::string_view bytes) {
  if (bytes.size() % kTicketKeySize != 0)
    throw std::invalid_argument("session ticket keys: " + std::to_string(bytes.size()) +
                                " bytes, not a whole number of 80-byte keys");
  std::vector<TicketKey> keys(bytes.size() / kTicketKeySize);
  if (!keys.empty()) std::memcpy(keys.data(), bytes.data(), bytes.size());
  return keys;
}

}  // namespace wharf::tls
