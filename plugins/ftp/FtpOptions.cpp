#include "FtpOptions.h"

#include <arpa/inet.h>

#include <charconv>
#include <stdexcept>

namespace ftp {
namespace {

[[noreturn]] void refuse(std::string_view key, const std::string &reason) {
  throw std::invalid_argument("option." + std::string(key) + ": " + reason);
}

unsigned long number(std::string_view key, const std::string &text, unsigned long maximum) {
  unsigned long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value > maximum)
    refuse(key, "'" + text + "' is not a whole number up to " + std::to_string(maximum));
  return value;
}

// "30", "30s", "500ms", "2m".
std::chrono::milliseconds duration(std::string_view key, std::string text) {
  unsigned long scale = 1000;
  if (text.ends_with("ms")) {
    scale = 1;
    text.resize(text.size() - 2);
  } else if (text.ends_with("s")) {
    text.resize(text.size() - 1);
  } else if (text.ends_with("m")) {
    scale = 60000;
    text.resize(text.size() - 1);
  }
  return std::chrono::milliseconds(number(key, text, 86400000) * scale);
}

// One of a few words: "off", "read", ...
template <typename Value>
Value choice(std::string_view key, const std::string &text,
             std::initializer_list<std::pair<const char *, Value>> words) {
  std::string expected;
  for (const auto &[word, value] : words) {
    if (text == word) return value;
    expected += (expected.empty() ? "" : ", ") + std::string(word);
  }
  refuse(key, "'" + text + "' (expected one of " + expected + ")");
}

}  // namespace

FtpOptions FtpOptions::parse(
    const std::function<std::optional<std::string>(std::string_view)> &option) {
  FtpOptions options;
  auto root = option("root");
  if (!root || root->empty()) refuse("root", "missing: the folder to serve");
  options.root = *root;
  if (auto value = option("anonymous"))
    options.anonymous = choice<Anonymous>("anonymous", *value,
                                          {{"off", Anonymous::Off}, {"read", Anonymous::Read}});
  if (auto value = option("users")) options.usersFile = *value;
  if (auto value = option("passive_ports")) {
    size_t dash = value->find('-');
    if (dash == std::string::npos) refuse("passive_ports", "expected FIRST-LAST, e.g. 61000-61999");
    options.passiveFirst =
        static_cast<uint16_t>(number("passive_ports", value->substr(0, dash), 65535));
    options.passiveLast =
        static_cast<uint16_t>(number("passive_ports", value->substr(dash + 1), 65535));
    if (options.passiveFirst < 1024 || options.passiveFirst > options.passiveLast)
      refuse("passive_ports", "expected 1024 <= FIRST <= LAST <= 65535");
  }
  if (auto value = option("masquerade_address")) {
    in_addr address{};
    if (::inet_pton(AF_INET, value->c_str(), &address) != 1)
      refuse("masquerade_address", "'" + *value + "' is not an IPv4 address");
    options.masqueradeAddress = *value;
  }
  if (auto value = option("tls"))
    options.tls = choice<TlsMode>(
        "tls", *value,
        {{"off", TlsMode::Off}, {"allow", TlsMode::Allow}, {"require", TlsMode::Require}});
  if (auto value = option("tls_cert")) options.tlsCert = *value;
  if (auto value = option("tls_key")) options.tlsKey = *value;
  if (options.tls != TlsMode::Off && (options.tlsCert.empty() || options.tlsKey.empty()))
    refuse("tls", "needs option.tls_cert and option.tls_key");
  if (auto value = option("tls_session_reuse"))
    options.tlsSessionReuse =
        choice<bool>("tls_session_reuse", *value, {{"required", true}, {"optional", false}});
  if (auto value = option("max_sessions"))
    options.maxSessions = number("max_sessions", *value, 1000000);
  if (auto value = option("max_sessions_per_ip"))
    options.maxSessionsPerIp = number("max_sessions_per_ip", *value, 1000000);
  if (auto value = option("idle_timeout"))
    options.idleTimeout =
        std::chrono::duration_cast<std::chrono::seconds>(duration("idle_timeout", *value));
  if (auto value = option("data_timeout"))
    options.dataTimeout =
        std::chrono::duration_cast<std::chrono::seconds>(duration("data_timeout", *value));
  if (options.idleTimeout.count() == 0 || options.dataTimeout.count() == 0)
    refuse("idle_timeout", "timeouts must be at least 1s");
  if (auto value = option("max_login_failures"))
    options.maxLoginFailures = static_cast<unsigned>(number("max_login_failures", *value, 1000));
  if (auto value = option("login_failure_delay"))
    options.loginFailureDelay = duration("login_failure_delay", *value);
  if (auto value = option("max_account_failures"))
    options.maxAccountFailures =
        static_cast<unsigned>(number("max_account_failures", *value, 1000000));
  if (auto value = option("account_lockout"))
    options.accountLockout =
        std::chrono::duration_cast<std::chrono::seconds>(duration("account_lockout", *value));
  if (auto value = option("banner")) {
    if (value->find_first_of("\r\n") != std::string::npos) refuse("banner", "one line only");
    options.banner = *value;
  }
  if (auto value = option("umask")) {
    unsigned long mask = 0;
    auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), mask, 8);
    if (error != std::errc() || end != value->data() + value->size() || mask > 0777)
      refuse("umask", "'" + *value + "' is not an octal mask (e.g. 022)");
    options.umask = static_cast<mode_t>(mask);
  }
  if (auto value = option("max_list_entries"))
    options.maxListEntries = number("max_list_entries", *value, 100000000);
  return options;
}

}  // namespace ftp
