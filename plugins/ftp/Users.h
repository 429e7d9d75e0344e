// The accounts of option.users: lines "name:crypt-hash:home:ro|rw" (blank
// lines and # comments allowed). Hashes are crypt(3) strings ($y$, $6$, ...,
// as `openssl passwd -6` or `mkpasswd` make them), checked with libcrypt.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace ftp {

struct Account {
  std::string name;
  std::string home;  // relative to option.root
  bool writable = false;
};

class Users {
 public:
  Users() = default;
  // Throws std::invalid_argument naming file, line and reason.
  static Users load(const std::string &file);

  // The account if `password` is right; nullopt otherwise (unknown name too,
  // after the same work, so timing does not tell names apart).
  std::optional<Account> verify(const std::string &name, const std::string &password) const;

  // The hash a password for `name` is checked against: the account's own, or for
  // an unknown name one of the file's accounts' (picked by the name), so that it
  // costs what a known name's check costs whatever crypt(3) method the file uses.
  const std::string &hashFor(const std::string &name) const;
  bool has(const std::string &name) const { return entries_.contains(name); }
  // The account `name`, without a password: for a session that logged in
  // before (a carried one, looked up again).
  std::optional<Account> account(const std::string &name) const;

 private:
  struct Entry {
    Account account;
    std::string hash;
  };
  std::map<std::string, Entry> entries_;
};

}  // namespace ftp
