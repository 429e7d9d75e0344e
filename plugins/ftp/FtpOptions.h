// The FTP listener's option.* keys, parsed and checked once when the
// listener is made (a bad value refuses the listener, by key and reason).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ftp {

enum class Anonymous { Off, Read };
enum class TlsMode { Off, Allow, Require };
// How a binary download leaves the file: copied through the session's buffer,
// or spliced through a pipe, never entering it (what is faster depends on the
// kernel: bench/ftp measured copying twice as fast on one, splicing faster on
// another). TLS and ASCII downloads are always copied.
enum class Downloads { Copy, ZeroCopy };

struct FtpOptions {
  std::string root;  // the served folder (required)
  Anonymous anonymous = Anonymous::Off;
  std::string usersFile;      // name:crypt-hash:home:ro|rw lines; empty: none
  uint16_t passiveFirst = 0;  // passive ports; 0: any the kernel gives
  uint16_t passiveLast = 0;
  std::string masqueradeAddress;  // the IPv4 address PASV announces instead of ours
  TlsMode tls = TlsMode::Off;
  std::string tlsCert, tlsKey;
  bool tlsSessionReuse = true;  // require data connections to resume the control's session
  size_t maxSessions = 0;       // 0: unlimited
  // Per client address, across the listener's processes; 0: unlimited. Unset:
  // kSessionsPerIp, or a quarter of passive_ports if that is less.
  static constexpr size_t kSessionsPerIp = 16;
  size_t maxSessionsPerIp = kSessionsPerIp;
  std::chrono::seconds idleTimeout{300};
  std::chrono::seconds dataTimeout{60};
  unsigned maxLoginFailures = 3;  // per session, then it is closed
  std::chrono::milliseconds loginFailureDelay{1000};
  unsigned maxAccountFailures = 10;  // per account across sessions, then it is locked (0: never)
  std::chrono::seconds accountLockout{900};
  std::string banner = "Wharf FTP server ready";
  mode_t umask = 022;
  size_t maxListEntries = 100000;  // a listing stops there
  Downloads downloads = Downloads::Copy;

  // `option(key)` returns the listener's option. Throws std::invalid_argument
  // naming the key and the reason.
  static FtpOptions parse(
      const std::function<std::optional<std::string>(std::string_view)> &option);
};

}  // namespace ftp
