// The FTP plugin: a blocking-style Wharf plugin (thread, pool or fork mode)
// serving RFC 959 with its extensions. One FtpServer per listener holds the
// parsed options, the accounts, the root folder and the TLS context; each
// control connection is an FtpSession.
#include <sys/socket.h>
#include <wharf/wharf_kv.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <wharf/wharf.hpp>

#include "CarriedSession.h"
#include "FtpOptions.h"
#include "FtpSession.h"
#include "Jail.h"
#include "Names.h"
#include "SessionCounts.h"
#include "TlsContext.h"
#include "Users.h"

namespace {

ftp::FtpOptions optionsOf(wharf::Instance &instance) {
  return ftp::FtpOptions::parse([&](std::string_view key) -> std::optional<std::string> {
    auto value = instance.option(key);
    return value ? std::optional<std::string>(std::string(*value)) : std::nullopt;
  });
}

// Passive ports inside the kernel's ephemeral range are also handed out to
// outgoing connections, and linger in TIME_WAIT: a PASV then finds them busy.
void warnOfEphemeralOverlap(const wharf::Instance &instance, const ftp::FtpOptions &options) {
  if (options.passiveFirst == 0) return;
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned first = 0, last = 0;
  if (!(range >> first >> last)) return;
  if (options.passiveLast < first || options.passiveFirst > last) return;
  instance.log(WHARF_LOG_WARNING,
               "passive_ports " + std::to_string(options.passiveFirst) + "-" +
                   std::to_string(options.passiveLast) +
                   " overlaps the kernel's ephemeral ports (net.ipv4.ip_local_port_range " +
                   std::to_string(first) + "-" + std::to_string(last) +
                   "): choose a range outside it, e.g. 61000-61999");
}

}  // namespace

class FtpServer {
 public:
  explicit FtpServer(wharf::Instance &instance)
      : options_(optionsOf(instance)),
        users_(options_.usersFile.empty() ? ftp::Users() : ftp::Users::load(options_.usersFile)),
        root_(options_.root),
        tls_(options_.tls == ftp::TlsMode::Off
                 ? nullptr
                 : std::make_unique<ftp::TlsContext>(options_.tlsCert, options_.tlsKey,
                                                     options_.tlsSessionReuse)),
        sessions_(options_.maxSessions, options_.maxSessionsPerIp),
        lockout_(options_.maxAccountFailures, options_.accountLockout),
        context_{options_, users_, root_, tls_.get(), lockout_} {
    if (instance.socketKind() != WHARF_SOCKET_STREAM)
      throw std::invalid_argument("FTP needs a stream transport (tcp)");
    warnOfEphemeralOverlap(instance, options_);
    shareLockouts(instance);
    shareSessionCounts(instance);
  }

  void serve(wharf::Session &session) {
    sockaddr_storage client = clientOf(session);
    std::string reason;
    auto place = sessions_.take(ftp::ipText(client), reason);
    if (!place) {
      session.write("421 " + reason + "\r\n");
      return;
    }
    run(session, client, std::nullopt);
  }

  // Live migration (SDK 1.6, `migrate = on`): a control session between
  // commands moves from older code of this plugin at a reload; its state is
  // ftp::CarriedSession's (any release that writes its format 1).
  struct Carried {
    std::unique_ptr<ftp::SessionCounts::Place> place;
    sockaddr_storage client;
    ftp::RestoredSession restored;
  };

  std::unique_ptr<Carried> importCarried(wharf::Session &session, std::string_view fromVersion,
                                         wharf::Bytes data) {
    sockaddr_storage client = clientOf(session);
    std::string from = "a session from ftp " + ftp::escapedForLog(std::string(fromVersion));
    std::optional<ftp::CarriedSession> state = ftp::CarriedSession::decode(data);
    if (!state) {
      session.log(WHARF_LOG_WARNING, "refused " + from +
                                         ": its state is malformed or not in format " +
                                         std::to_string(ftp::CarriedSession::kFormat));
      return nullptr;
    }
    std::string why;
    std::optional<ftp::RestoredSession> restored =
        ftp::FtpSession::restore(context_, std::move(*state), why);
    if (!restored) {
      session.log(WHARF_LOG_NOTICE, "refused " + from + ": " + ftp::escapedForLog(why));
      return nullptr;
    }
    // Counted by the older code's place until its serve() returns, at once:
    // beyond the limits, as the two places are one session's.
    return std::make_unique<Carried>(
        Carried{sessions_.adopt(ftp::ipText(client)), client, std::move(*restored)});
  }

  void resume(wharf::Session &session, std::unique_ptr<Carried> carried) {
    run(session, carried->client, std::move(carried->restored));
  }  // its place goes with it

 private:
  // The client: behind a load balancer, the one its PROXY header names.
  static sockaddr_storage clientOf(wharf::Session &session) {
    if (session.socket() < 0)
      throw wharf::Error("this host does not give plugins the control socket");
    std::optional<sockaddr_storage> client = session.address(WHARF_ADDRESS_PEER);
    if (!client) throw wharf::Error("this host does not give plugins the client's address");
    return *client;
  }

  void run(wharf::Session &session, const sockaddr_storage &client,
           std::optional<ftp::RestoredSession> restored) {
    ftp::FtpSession(
        context_, session.socket(), client,
        [&session](int fd) { return session.acceptedClient(fd); },
        [&session](int level, const std::string &message) {
          session.log(static_cast<wharf_log_level>(level), message);
        },
        [&session](uint64_t received, uint64_t sent) {
          session.countBytes(WHARF_BYTES_OWN_CONNECTION, received, sent);
        },
        {session.handoverFd(),
         [&session](const std::string &state) {
           return session.handOver(
               wharf::Bytes(reinterpret_cast<const uint8_t *>(state.data()), state.size()));
         }},
        std::move(restored))
        .run();
  }

  // Failed logins counted in the listener's zone, so every session process
  // (mode = fork) and every worker counts toward one lock; in this process
  // alone if the zone cannot be had (logged).
  void shareLockouts(wharf::Instance &instance) {
    if (options_.maxAccountFailures == 0) return;
    try {
      wharf::Zone zone = instance.zone(zoneName("ftp_lockout_", instance.name()), kLockoutZoneSize,
                                       WHARF_KV_LAYOUT);
      if (wharf_kv_open(&lockouts_, wharf::hostApi(), zone.handle(), kLockoutBuckets) != WHARF_OK)
        throw wharf::Error("its table cannot be made");
      lockout_.shareThrough(&lockouts_);
    } catch (const std::exception &error) {
      instance.log(WHARF_LOG_WARNING,
                   std::string("account lockout counted in each process alone: ") + error.what());
    }
  }

  // Sessions counted in a zone too: max_sessions and max_sessions_per_ip hold
  // across workers and fork session processes.
  void shareSessionCounts(wharf::Instance &instance) {
    if (options_.maxSessions == 0 && options_.maxSessionsPerIp == 0) return;
    try {
      sessions_.share(instance.zone(zoneName("ftp_sessions_", instance.name()),
                                    ftp::SessionCounts::kZoneSize, ftp::SessionCounts::kLayout));
    } catch (const std::exception &error) {
      instance.log(WHARF_LOG_WARNING, std::string("max_sessions and max_sessions_per_ip counted "
                                                  "in each process alone: ") +
                                          error.what());
    }
  }

  // Zone names are the daemon's: one per listener ([a-z0-9_], at most 64),
  // its name as far as it fits, and a hash of all of it (so "ftp-a" and
  // "FTP_A" get zones of their own).
  static std::string zoneName(std::string name, std::string_view listener) {
    for (char c : listener.substr(0, 32)) {
      bool kept = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      name += kept ? c : (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : '_';
    }
    uint64_t hash = 14695981039346656037ull;  // FNV-1a
    for (char c : listener) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    char suffix[18];
    std::snprintf(suffix, sizeof suffix, "_%016llx", static_cast<unsigned long long>(hash));
    return name + suffix;
  }

  // About 10,000 names' records; a name it has no room for is counted per process.
  static constexpr size_t kLockoutZoneSize = 1 << 20;
  static constexpr size_t kLockoutBuckets = 4096;

  ftp::FtpOptions options_;
  ftp::Users users_;
  ftp::Jail root_;
  std::unique_ptr<ftp::TlsContext> tls_;
  ftp::SessionCounts sessions_;
  ftp::AccountLockout lockout_;
  wharf_kv lockouts_{};
  ftp::ServerContext context_;
};

// Tests build a later release of the same code with another version (tests/CMakeLists.txt).
#ifndef FTP_PLUGIN_VERSION
#define FTP_PLUGIN_VERSION "1.0.0"
#endif

WHARF_PLUGIN(FtpServer, "ftp", FTP_PLUGIN_VERSION,
             "FTP server: RFC 959, 2389, 2428, 3659, 2640 and explicit FTPS (RFC 4217)",
             WHARF_CAP_BLOCKING | WHARF_CAP_STREAM | WHARF_CAP_CONCURRENT | WHARF_CAP_FORK_SAFE |
                 WHARF_CAP_OWN_SOCKET)
