// What an FTP control session carries to newer plugin code at a reload (live
// migration, SDK 1.6): plain values, never pointers, in a versioned byte
// format that the newer code reads as hostile input. The account travels by
// name only (no password, no hash): the newer code looks it up again in its
// own users table (FtpSession::restore).
//
// Format 1, every integer little-endian, a string its u32 length then its bytes:
//   u16 format (1)
//   u8  login (0 none, 1 account, 2 anonymous)   string account name ("" unless 1)
//   u8  pending USER (0|1)                       string its name ("" if 0)
//   u32 failed logins
//   string current folder (absolute, normalised, e.g. "/pub")
//   u8  TYPE A (0|1)   u32 OPTS MLST facts (Fact bits)   u64 REST offset
//   u8  RNFR pending (0|1)                       string its path ("" if 0)
//   u8  EPSV ALL   u8 PBSZ given   u8 PROT P     (each 0|1)
//   u64 milliseconds idle so far
//   string unread control input   u8 inside an over-long line (0|1)   u8 Telnet state (0-2)
// and nothing after. A later format gets a new number: this code refuses it,
// and a later release converts format 1 or refuses it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "Control.h"

namespace ftp {

struct CarriedSession {
  static constexpr uint16_t kFormat = 1;
  // Each string at most a command line's worth (a name or path came in one); the whole bounded too.
  static constexpr size_t kMaxString = Control::kMaxLine;
  static constexpr size_t kMaxSize = 64 * 1024;

  enum class Login : uint8_t { None = 0, Account = 1, Anonymous = 2 };

  Login login = Login::None;
  std::string account;  // Login::Account: the account's name
  std::optional<std::string> pendingUser;
  uint32_t failures = 0;
  std::string cwd = "/";
  bool ascii = false;
  uint32_t facts = 0;
  uint64_t restart = 0;
  std::optional<std::string> renameFrom;
  bool epsvOnly = false, pbszGiven = false, protectData = false;
  uint64_t idleMs = 0;
  Control::Unread unread;

  std::string encode() const;
  // Nullopt for anything but a well-formed format 1 within the bounds: a
  // truncated, oversized or inconsistent state, a name or path that no
  // command line could have held, a path not normalised.
  static std::optional<CarriedSession> decode(std::span<const uint8_t> bytes);
};

}  // namespace ftp
