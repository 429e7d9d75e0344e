#include "Users.h"

#include <crypt.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <stdexcept>

namespace ftp {
namespace {

bool hashMatches(const std::string &hash, const std::string &password) {
  // crypt_rn, not crypt_r: it fails with NULL rather than a "*" string, and
  // sanitizers do not intercept it (their crypt_r hook breaks in a library
  // loaded after start).
  auto data = std::make_unique<crypt_data>();
  const char *computed = ::crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof *data);
  if (computed == nullptr) return false;
  size_t length = std::strlen(computed);
  // Constant-time comparison of the full strings.
  unsigned char differ = length != hash.size();
  for (size_t i = 0; i < length && i < hash.size(); ++i)
    differ |= static_cast<unsigned char>(computed[i] ^ hash[i]);
  return differ == 0;
}

// What an unknown name is checked against when the file holds no account
// (then every name is unknown, and there is nothing to tell apart).
const std::string kNoAccountHash =
    "$6$wharfdecoysalt$3k0g1hIO7b4nLrNmxQXU1c5sY5xR5xXtJ5n0b4H8l3sVJ6qXlL0P1XmD"
    "xKUNzq4H8Q6Zz5X6e1oK3F0F3YQ5V.";

}  // namespace

Users Users::load(const std::string &file) {
  std::ifstream in(file);
  if (!in) throw std::invalid_argument("option.users: cannot read " + file);
  Users users;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::string fields[4];
    size_t at = 0;
    for (int i = 0; i < 4; ++i) {
      size_t colon = i < 3 ? line.find(':', at) : std::string::npos;
      if (i < 3 && colon == std::string::npos)
        throw std::invalid_argument(file + ":" + std::to_string(number) +
                                    ": expected name:crypt-hash:home:ro|rw");
      fields[i] = line.substr(at, colon == std::string::npos ? std::string::npos : colon - at);
      at = colon + 1;
    }
    if (fields[0].empty() || !fields[1].starts_with("$") ||
        (fields[3] != "ro" && fields[3] != "rw"))
      throw std::invalid_argument(file + ":" + std::to_string(number) +
                                  ": expected name:crypt-hash:home:ro|rw with a crypt(3) hash");
    users.entries_[fields[0]] = {{fields[0], fields[2], fields[3] == "rw"}, fields[1]};
  }
  return users;
}

const std::string &Users::hashFor(const std::string &name) const {
  if (auto entry = entries_.find(name); entry != entries_.end()) return entry->second.hash;
  if (entries_.empty()) return kNoAccountHash;
  // Another account's hash, the same one for every try at this name: its method and
  // cost are the file's own (a fixed SHA-512 decoy took about 1 ms where a yescrypt
  // account, mkpasswd's default, took 70: a name was known or not at a glance).
  auto standIn = entries_.begin();
  std::advance(standIn, std::hash<std::string>()(name) % entries_.size());
  return standIn->second.hash;
}

std::optional<Account> Users::verify(const std::string &name, const std::string &password) const {
  if (!hashMatches(hashFor(name), password)) return std::nullopt;
  return account(name);
}

std::optional<Account> Users::account(const std::string &name) const {
  auto entry = entries_.find(name);
  if (entry == entries_.end()) return std::nullopt;
  return entry->second.account;
}

}  // namespace ftp
