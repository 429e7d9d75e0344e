// Transfer parameters: TYPE, STRU, MODE, ALLO, REST, and the data connection
// (PORT, PASV; RFC 2428 EPRT, EPSV).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <wharf/wharf.h>

#include <cerrno>
#include <climits>
#include <string_view>

#include "CommandTable.h"

namespace ftp {
namespace {

// RFC 959 5.3.2's <type-code>: A [<SP> <form-code>], E [<SP> <form-code>], I,
// or L <SP> <byte size> (1 to 255), in upper case.
bool isTypeCode(const std::string &kind) {
  unsigned long long byteSize = 0;
  if (kind == "I") return true;
  if (kind.starts_with("L ")) return parseNumber(kind.substr(2), 255, byteSize) && byteSize > 0;
  if (kind != "A" && kind != "E" && !kind.starts_with("A ") && !kind.starts_with("E "))
    return false;
  return kind.size() == 1 ||
         (kind.size() == 3 && std::string_view("NTC").find(kind[2]) != std::string_view::npos);
}

}  // namespace

std::span<const FtpSession::Command> FtpSession::parametersCommands() {
  static const Command kCommands[] = {
      {"TYPE", &S::type, Arg::Required, false, "TYPE A|I"},
      {"STRU", &S::stru, Arg::Required, false, "STRU F"},
      {"MODE", &S::mode, Arg::Required, false, "MODE S"},
      {"ALLO", &S::allo, Arg::Required, false, "ALLO <bytes> [R <record size>]"},
      {"REST", &S::rest, Arg::Required, false, "REST <offset>"},
      {"PORT", &S::port, Arg::Required, false, "PORT h1,h2,h3,h4,p1,p2"},
      {"EPRT", &S::eprt, Arg::Required, false, "EPRT |proto|address|port|"},
      {"PASV", &S::pasv, Arg::None, false, "PASV"},
      {"EPSV", &S::epsv, Arg::Optional, false, "EPSV [ALL|1|2]"},
  };
  return kCommands;
}

void FtpSession::type(const std::string &argument) {
  std::string kind = upper(argument);
  if (kind == "A" || kind == "A N") {
    ascii_ = true;
    return control_.reply(200, "Switching to ASCII mode.");
  }
  if (kind == "I" || kind == "L 8" || kind == "L8") {
    ascii_ = false;
    return control_.reply(200, "Switching to Binary mode.");
  }
  if (isTypeCode(kind))
    return control_.reply(504, "TYPE " + argument + " not supported (use A or I).");
  control_.reply(501, "Syntax: TYPE A [N|T|C] | E [N|T|C] | I | L <byte size>");
}

void FtpSession::stru(const std::string &argument) {
  std::string code = upper(argument);
  if (code == "F") return control_.reply(200, "Structure set to F.");
  if (code == "R" || code == "P") return control_.reply(504, "Only STRU F is supported.");
  control_.reply(501, "Syntax: STRU F|R|P");
}

void FtpSession::mode(const std::string &argument) {
  std::string code = upper(argument);
  if (code == "S") return control_.reply(200, "Mode set to S.");
  if (code == "B" || code == "C") return control_.reply(504, "Only MODE S is supported.");
  control_.reply(501, "Syntax: MODE S|B|C");
}

void FtpSession::allo(const std::string &argument) {
  // <decimal-integer> [<SP> R <SP> <decimal-integer>]
  unsigned long long bytes = 0, record = 0;
  size_t space = argument.find(' ');
  bool valid =
      parseNumber(argument.substr(0, space), ULLONG_MAX, bytes) &&
      (space == std::string::npos || (upper(argument.substr(space, 3)) == " R " &&
                                      parseNumber(argument.substr(space + 3), ULLONG_MAX, record)));
  if (!valid) return control_.reply(501, "Syntax: ALLO <bytes> [R <record size>]");
  control_.reply(202, "ALLO not needed.");
}

void FtpSession::rest(const std::string &argument) {
  unsigned long long offset = 0;
  if (!parseNumber(argument, static_cast<unsigned long long>(INT64_MAX), offset))
    return control_.reply(501, "REST needs a byte offset.");
  if (offset > 0 && ascii_) return control_.reply(504, "REST is for TYPE I only.");
  restart_ = static_cast<off_t>(offset);
  control_.reply(350, "Restarting at " + argument + ". Send STOR or RETR.");
}

bool FtpSession::useActive(const sockaddr_storage &target) {
  if (epsvOnly_) {
    control_.reply(501, "EPSV ALL was given: only EPSV is allowed.");
    return false;
  }
  uint16_t port =
      ntohs(target.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in &>(target).sin_port
                                        : reinterpret_cast<const sockaddr_in6 &>(target).sin6_port);
  // FTP bounce: a data connection to anyone but the client, or to a privileged port.
  if (!sameIp(target, peer_) || port < 1024) {
    log_(WHARF_LOG_WARNING, "refused PORT/EPRT to " + ipText(target) + " port " +
                                std::to_string(port) + " (FTP bounce)");
    control_.reply(501, "Data connections go to your own address, port 1024 or above.");
    return false;
  }
  data_.connectTo(target);
  return true;
}

void FtpSession::port(const std::string &argument) {
  unsigned long long parts[6];
  size_t at = 0;
  for (int i = 0; i < 6; ++i) {
    size_t comma = i < 5 ? argument.find(',', at) : argument.size();
    if (comma == std::string::npos || !parseNumber(argument.substr(at, comma - at), 255, parts[i]))
      return control_.reply(501, "Syntax: PORT h1,h2,h3,h4,p1,p2");
    at = comma + 1;
  }
  sockaddr_storage target{};
  auto &v4 = reinterpret_cast<sockaddr_in &>(target);
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr =
      htonl(static_cast<uint32_t>(parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]));
  v4.sin_port = htons(static_cast<uint16_t>(parts[4] << 8 | parts[5]));
  if (useActive(target)) control_.reply(200, "PORT command successful.");
}

void FtpSession::eprt(const std::string &argument) {
  // |1|192.0.2.1|6000| or |2|2001:db8::1|6000| (any delimiter)
  if (argument.size() < 7) return control_.reply(501, "Syntax: EPRT |proto|address|port|");
  char delimiter = argument[0];
  std::string fields[3];
  size_t at = 1;
  for (auto &field : fields) {
    size_t end = argument.find(delimiter, at);
    if (end == std::string::npos) return control_.reply(501, "Syntax: EPRT |proto|address|port|");
    field = argument.substr(at, end - at);
    at = end + 1;
  }
  unsigned long long protocol = 0, portNumber = 0;
  // RFC 2428 2: nothing after the last delimiter; a protocol that is no
  // number is a syntax error (501), one this server lacks 522.
  if (at != argument.size() || !parseNumber(fields[0], 255, protocol) ||
      !parseNumber(fields[2], 65535, portNumber))
    return control_.reply(501, "Syntax: EPRT |proto|address|port|");
  sockaddr_storage target{};
  if (fields[0] == "1") {
    auto &v4 = reinterpret_cast<sockaddr_in &>(target);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(portNumber));
    if (::inet_pton(AF_INET, fields[1].c_str(), &v4.sin_addr) != 1)
      return control_.reply(501, "Bad IPv4 address.");
  } else if (fields[0] == "2") {
    auto &v6 = reinterpret_cast<sockaddr_in6 &>(target);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(portNumber));
    if (::inet_pton(AF_INET6, fields[1].c_str(), &v6.sin6_addr) != 1)
      return control_.reply(501, "Bad IPv6 address.");
  } else {
    return control_.reply(522, "Network protocol not supported, use (1,2)");
  }
  if (useActive(target)) control_.reply(200, "EPRT command successful.");
}

void FtpSession::pasv(const std::string &) {
  if (epsvOnly_) return control_.reply(501, "EPSV ALL was given: only EPSV is allowed.");
  sockaddr_storage local = local_;
  bool mapped = local.ss_family == AF_INET6 &&
                IN6_IS_ADDR_V4MAPPED(&reinterpret_cast<sockaddr_in6 &>(local).sin6_addr);
  if (local.ss_family != AF_INET && !mapped)
    return control_.reply(425, "PASV is IPv4 only: use EPSV.");
  uint16_t port = 0;
  if (!data_.listenPassive(local, port)) return control_.reply(425, "Cannot open a passive port.");
  std::string address =
      options_.masqueradeAddress.empty() ? ipText(local) : options_.masqueradeAddress;
  std::replace(address.begin(), address.end(), '.', ',');
  control_.reply(227, "Entering Passive Mode (" + address + "," + std::to_string(port >> 8) + "," +
                          std::to_string(port & 0xFF) + ").");
}

void FtpSession::epsv(const std::string &argument) {
  std::string kind = upper(argument);
  if (kind == "ALL") {
    epsvOnly_ = true;
    return control_.reply(200, "EPSV ALL ok.");
  }
  unsigned long long protocol = 0;  // RFC 2428 3: EPSV [<SP> <net-prt> | ALL]
  if (!kind.empty() && !parseNumber(kind, 255, protocol))
    return control_.reply(501, "Syntax: EPSV [ALL|1|2]");
  // A control connection over a unix socket has no address to offer a data port on.
  if (local_.ss_family != AF_INET && local_.ss_family != AF_INET6)
    return control_.reply(425, "Passive mode needs a TCP control connection.");
  int family = local_.ss_family == AF_INET ? 1 : 2;
  if (!kind.empty() && kind != std::to_string(family))
    return control_.reply(522,
                          "Network protocol not supported, use (" + std::to_string(family) + ")");
  uint16_t port = 0;
  if (!data_.listenPassive(local_, port)) return control_.reply(425, "Cannot open a passive port.");
  control_.reply(229, "Entering Extended Passive Mode (|||" + std::to_string(port) + "|)");
}

}  // namespace ftp
