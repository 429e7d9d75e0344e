#include "FtpOptions.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "common/OptionValues.h"

namespace ftp {

using common::optionChoice;
using common::optionDuration;
using common::optionNumber;
using common::refuseOption;

FtpOptions FtpOptions::parse(
    const std::function<std::optional<std::string>(std::string_view)> &option) {
  FtpOptions options;
  auto root = option("root");
  if (!root || root->empty()) refuseOption("root", "missing: the folder to serve");
  options.root = *root;
  if (auto value = option("anonymous"))
    options.anonymous = optionChoice<Anonymous>(
        "anonymous", *value, {{"off", Anonymous::Off}, {"read", Anonymous::Read}});
  if (auto value = option("users")) options.usersFile = *value;
  if (auto value = option("passive_ports")) {
    size_t dash = value->find('-');
    if (dash == std::string::npos)
      refuseOption("passive_ports", "expected FIRST-LAST, e.g. 61000-61999");
    options.passiveFirst =
        static_cast<uint16_t>(optionNumber("passive_ports", value->substr(0, dash), 65535));
    options.passiveLast =
        static_cast<uint16_t>(optionNumber("passive_ports", value->substr(dash + 1), 65535));
    if (options.passiveFirst < 1024 || options.passiveFirst > options.passiveLast)
      refuseOption("passive_ports", "expected 1024 <= FIRST <= LAST <= 65535");
  }
  if (auto value = option("masquerade_address")) {
    in_addr address{};
    if (::inet_pton(AF_INET, value->c_str(), &address) != 1)
      refuseOption("masquerade_address", "'" + *value + "' is not an IPv4 address");
    options.masqueradeAddress = *value;
  }
  if (auto value = option("tls"))
    options.tls = optionChoice<TlsMode>(
        "tls", *value,
        {{"off", TlsMode::Off}, {"allow", TlsMode::Allow}, {"require", TlsMode::Require}});
  if (auto value = option("tls_cert")) options.tlsCert = *value;
  if (auto value = option("tls_key")) options.tlsKey = *value;
  if (options.tls != TlsMode::Off && (options.tlsCert.empty() || options.tlsKey.empty()))
    refuseOption("tls", "needs option.tls_cert and option.tls_key");
  if (auto value = option("tls_session_reuse"))
    options.tlsSessionReuse =
        optionChoice<bool>("tls_session_reuse", *value, {{"required", true}, {"optional", false}});
  if (auto value = option("max_sessions"))
    options.maxSessions = optionNumber("max_sessions", *value, 1000000);
  if (auto value = option("max_sessions_per_ip")) {
    options.maxSessionsPerIp = optionNumber("max_sessions_per_ip", *value, 1000000);
  } else {
    // A session holds at most one passive port: one address then holds at most a quarter
    // of a passive_ports range.
    size_t range = options.passiveFirst == 0 ? 0 : options.passiveLast - options.passiveFirst + 1;
    options.maxSessionsPerIp =
        range == 0 ? FtpOptions::kSessionsPerIp
                   : std::min(FtpOptions::kSessionsPerIp, std::max<size_t>(1, range / 4));
  }
  if (auto value = option("idle_timeout"))
    options.idleTimeout =
        std::chrono::duration_cast<std::chrono::seconds>(optionDuration("idle_timeout", *value));
  if (auto value = option("data_timeout"))
    options.dataTimeout =
        std::chrono::duration_cast<std::chrono::seconds>(optionDuration("data_timeout", *value));
  if (options.idleTimeout.count() == 0 || options.dataTimeout.count() == 0)
    refuseOption("idle_timeout", "timeouts must be at least 1s");
  if (auto value = option("max_login_failures"))
    options.maxLoginFailures =
        static_cast<unsigned>(optionNumber("max_login_failures", *value, 1000));
  if (auto value = option("login_failure_delay"))
    options.loginFailureDelay = optionDuration("login_failure_delay", *value);
  if (auto value = option("max_account_failures"))
    options.maxAccountFailures =
        static_cast<unsigned>(optionNumber("max_account_failures", *value, 1000000));
  if (auto value = option("account_lockout"))
    options.accountLockout =
        std::chrono::duration_cast<std::chrono::seconds>(optionDuration("account_lockout", *value));
  if (auto value = option("banner")) {
    if (value->find_first_of("\r\n") != std::string::npos) refuseOption("banner", "one line only");
    options.banner = *value;
  }
  if (auto value = option("umask")) {
    unsigned long mask = 0;
    auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), mask, 8);
    if (error != std::errc() || end != value->data() + value->size() || mask > 0777)
      refuseOption("umask", "'" + *value + "' is not an octal mask (e.g. 022)");
    options.umask = static_cast<mode_t>(mask);
  }
  if (auto value = option("max_list_entries"))
    options.maxListEntries = optionNumber("max_list_entries", *value, 100000000);
  if (auto value = option("zero_copy"))
    options.downloads = optionChoice<Downloads>(
        "zero_copy", *value, {{"off", Downloads::Copy}, {"on", Downloads::ZeroCopy}});
  return options;
}

}  // namespace ftp
