#include "config/ConfigLoader.h"

#include <Poco/Logger.h>
#include <elf.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "config/ConfigError.h"
#include "config/CpuQuota.h"
#include "config/MemoryLimit.h"
#include "config/SectionReader.h"
#include "tls/ServerContext.h"
#include "tls/TlsError.h"

namespace wharf::config {
namespace {

const std::string kHostSection = "host";
const std::string kListenerPrefix = "listener.";
const std::string kOptionPrefix = "option.";
const std::set<std::string> kHostKeys = {"plugin_dir",
                                         "admin",
                                         "log_level",
                                         "shutdown_timeout",
                                         "drain_timeout",
                                         "max_generations",
                                         "watch",
                                         "workers",
                                         "user",
                                         "group",
                                         "metrics",
                                         "log",
                                         "access_log",
                                         "core_dumps",
                                         "pid_file",
                                         "reload_timeout",
                                         "worker_timeout",
                                         "output_budget",
                                         "memory_limit",
                                         "access_log_format",
                                         "log_empty_sessions"};
const std::set<std::string> kListenerKeys = {"transport",
                                             "listen",
                                             "mode",
                                             "plugin",
                                             "backlog",
                                             "max_connections",
                                             "max_per_source",
                                             "allow",
                                             "deny",
                                             "accept_rate",
                                             "idle_timeout",
                                             "max_datagram",
                                             "datagram_rate",
                                             "isolate",
                                             "user",
                                             "group",
                                             "access_log",
                                             "proxy_protocol",
                                             "proxy_from",
                                             "proxy_timeout",
                                             "access_log_format",
                                             "log_empty_sessions",
                                             "tls",
                                             "tls_cert",
                                             "tls_key",
                                             "tls_protocols",
                                             "tls_ciphers",
                                             "tls_handshake_timeout",
                                             "tls_client_ca",
                                             "tls_verify_client",
                                             "tls_alpn",
                                             "tls_tickets",
                                             "tls_ticket_rotation"};

std::optional<AccessLogFormat> readAccessLogFormat(const SectionReader &reader) {
  const std::string *format = reader.get("access_log_format");
  if (format == nullptr) return std::nullopt;
  if (*format == "logfmt") return AccessLogFormat::Logfmt;
  if (*format == "json") return AccessLogFormat::Json;
  reader.fail("access_log_format", "must be logfmt or json, not '" + *format + "'");
}

// `log` or `access_log`: "syslog", a file (its folder must exist), "stderr"
// where `allowed` has it, or "" for "off" where it has that.
std::optional<std::string> readLogDestination(const SectionReader &reader, const char *key,
                                              const std::set<std::string> &allowed) {
  const std::string *value = reader.get(key);
  if (value == nullptr) return std::nullopt;
  if (allowed.contains(*value)) return *value == "off" ? "" : *value;
  if (value->empty() || value->find('/') == std::string::npos)
    reader.fail(key, "expected " + joined({allowed.begin(), allowed.end()}) +
                         " or a file path, not '" + *value + "'");
  std::filesystem::path file = reader.path(*value);
  std::error_code error;
  if (!std::filesystem::is_directory(file.parent_path(), error))
    reader.fail(key, "folder " + file.parent_path().string() + " does not exist");
  if (std::filesystem::is_directory(file, error))
    reader.fail(key, file.string() + " is a folder, not a file");
  return file.string();
}

// proxy_protocol, proxy_from, proxy_timeout. A header is trusted from no one
// by default: on tcp, proxy_from must name the balancers.
ProxySettings readProxy(const SectionReader &reader, net::Transport transport) {
  ProxySettings proxy;
  const std::string *version = reader.get("proxy_protocol");
  if (version != nullptr && *version != "off") {
    if (*version == "v1")
      proxy.accepted = net::proxy::Accepted::V1;
    else if (*version == "v2")
      proxy.accepted = net::proxy::Accepted::V2;
    else if (*version == "any")
      proxy.accepted = net::proxy::Accepted::Any;
    else
      reader.fail("proxy_protocol", "expected off, v1, v2 or any, not '" + *version + "'");
    if (!net::isStream(transport))
      reader.fail("proxy_protocol", "applies to stream transports (tcp, unix) only");
  }
  proxy.from = reader.networks("proxy_from");
  if (!proxy.enabled()) {
    for (const char *key : {"proxy_from", "proxy_timeout"})
      if (reader.get(key)) reader.fail(key, "applies with proxy_protocol = v1, v2 or any only");
    return proxy;
  }
  if (net::isUnix(transport) && reader.get("proxy_from"))
    reader.fail("proxy_from",
                "applies to tcp only (unix peers have no IP: the socket's "
                "permissions say who may connect)");
  if (!net::isUnix(transport) && proxy.from.empty())
    reader.fail("proxy_protocol",
                "needs proxy_from: the addresses of the balancers that may send a header");
  proxy.timeout = reader.duration("proxy_timeout").value_or(proxy.timeout);
  if (proxy.timeout.count() == 0 || proxy.timeout > kMaxProxyTimeout)
    reader.fail("proxy_timeout", "must be more than 0 and at most 60s");
  return proxy;
}

// A file tls_cert or tls_key names: read here (the master reads it as root),
// or, in a worker, taken from `held`, what the master passed. nullopt: the
// master passed it to the workers of another listener, not to this one.
std::optional<std::string> readTlsFile(const SectionReader &reader, const char *key,
                                       const std::filesystem::path &file, const HeldFiles *held) {
  if (held != nullptr) {
    auto found = held->find(file);
    if (found == held->end()) return std::nullopt;
    return found->second;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) reader.fail(key, "cannot read " + file.string() + ": " + std::strerror(errno));
  std::string text(kMaxTlsFileSize + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) reader.fail(key, "cannot read " + file.string() + ": " + std::strerror(errno));
  if (static_cast<size_t>(in.gcount()) > kMaxTlsFileSize)
    reader.fail(key, file.string() + " is larger than 1 MiB: not a certificate or key");
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// "a b, c": the words of a list separated by spaces or commas.
std::vector<std::string> words(const std::string &text) {
  std::string list = text;
  std::replace(list.begin(), list.end(), ',', ' ');
  std::istringstream in(list);
  std::vector<std::string> found;
  for (std::string word; in >> word;) found.push_back(word);
  return found;
}

// tls_protocols: "TLSv1.2 TLSv1.3", "TLSv1.3": the lowest and highest offered.
void readTlsProtocols(const SectionReader &reader, TlsSettings &tls) {
  const std::string *text = reader.get("tls_protocols");
  if (text == nullptr) return;
  const std::vector<std::string> offered = {"TLSv1.2", "TLSv1.3"};
  size_t lowest = offered.size(), highest = 0;
  for (const std::string &word : words(*text)) {
    auto found = std::find(offered.begin(), offered.end(), word);
    if (found == offered.end())
      reader.fail("tls_protocols", "unknown protocol '" + word + "' (expected " + joined(offered) +
                                       "; older ones are not offered)");
    size_t index = static_cast<size_t>(found - offered.begin());
    lowest = std::min(lowest, index);
    highest = std::max(highest, index);
  }
  if (lowest == offered.size()) reader.fail("tls_protocols", "names no protocol");
  tls.minProtocol = offered[lowest];
  tls.maxProtocol = offered[highest];
}

// tls_verify_client (off, optional, on) and tls_client_ca, which go together.
void readClientVerification(const SectionReader &reader, TlsSettings &tls) {
  if (const std::string *verify = reader.get("tls_verify_client")) {
    if (*verify == "off")
      tls.verifyClient = TlsSettings::VerifyClient::Off;
    else if (*verify == "optional")
      tls.verifyClient = TlsSettings::VerifyClient::Optional;
    else if (*verify == "on")
      tls.verifyClient = TlsSettings::VerifyClient::On;
    else
      reader.fail("tls_verify_client", "expected off, optional or on, not '" + *verify + "'");
  }
  const std::string *authorities = reader.get("tls_client_ca");
  bool verifying = tls.verifyClient != TlsSettings::VerifyClient::Off;
  if (verifying && authorities == nullptr)
    reader.fail("tls_verify_client", "needs tls_client_ca: the authorities that sign clients");
  if (!verifying && authorities != nullptr)
    reader.fail("tls_client_ca", "applies with tls_verify_client = optional or on only");
  if (authorities) tls.clientCaFile = reader.path(*authorities);
}

// tls_alpn: "h2 http/1.1" (commas or spaces): names of 1 to 255 printable bytes.
std::vector<std::string> readAlpn(const SectionReader &reader) {
  std::vector<std::string> names;
  const std::string *text = reader.get("tls_alpn");
  if (text == nullptr) return names;
  for (const std::string &word : words(*text)) {
    if (word.size() > 255 || !std::all_of(word.begin(), word.end(),
                                          [](unsigned char c) { return c > 0x20 && c < 0x7f; }))
      reader.fail("tls_alpn", "'" + word + "' is not a protocol name (1 to 255 printable bytes)");
    names.push_back(word);
  }
  if (names.empty()) reader.fail("tls_alpn", "names no protocol");
  return names;
}

void readTickets(const SectionReader &reader, TlsSettings &tls) {
  tls.tickets = reader.flag("tls_tickets").value_or(tls.tickets);
  std::optional<std::chrono::milliseconds> rotation = reader.duration("tls_ticket_rotation");
  if (!rotation) return;
  if (!tls.tickets) reader.fail("tls_ticket_rotation", "applies with tls_tickets = on only");
  if (*rotation < kMinTlsTicketRotation || *rotation > kMaxTlsTicketRotation)
    reader.fail("tls_ticket_rotation", "must be at least 1m and at most 24h");
  tls.ticketRotation = *rotation;
}

// tls and the keys that come with it. The certificate and key are read, and
// checked by OpenSSL as a session would use them: a bad one is refused here,
// by key, file and OpenSSL's reason, and a reload keeps the old.
TlsSettings readTls(const SectionReader &reader, net::Transport transport, const HeldFiles *held) {
  TlsSettings tls;
  tls.enabled = reader.flag("tls").value_or(false);
  if (!tls.enabled) {
    for (const char *key :
         {"tls_cert", "tls_key", "tls_protocols", "tls_ciphers", "tls_handshake_timeout",
          "tls_client_ca", "tls_verify_client", "tls_alpn", "tls_tickets", "tls_ticket_rotation"})
      if (reader.get(key)) reader.fail(key, "applies with tls = on only");
    return tls;
  }
  if (!net::isStream(transport))
    reader.fail("tls", "applies to stream transports (tcp, unix) only");
  std::vector<std::string> certificates = words(reader.require("tls_cert"));
  std::vector<std::string> keys = words(reader.require("tls_key"));
  if (certificates.empty()) reader.fail("tls_cert", "names no file");
  if (certificates.size() > kMaxTlsIdentities)
    reader.fail("tls_cert", "more than " + std::to_string(kMaxTlsIdentities) + " certificates");
  if (keys.size() != certificates.size())
    reader.fail("tls_key", std::to_string(certificates.size()) + " certificates but " +
                               std::to_string(keys.size()) +
                               " keys: give one key per certificate, in the same order");
  bool whole = true;  // false: another worker's listener, whose files this one was not given
  for (size_t i = 0; i < certificates.size(); ++i) {
    config::TlsIdentity identity{reader.path(certificates[i]), reader.path(keys[i]), {}, {}};
    auto certificate = readTlsFile(reader, "tls_cert", identity.certificateFile, held);
    auto key = readTlsFile(reader, "tls_key", identity.keyFile, held);
    whole = whole && certificate && key;
    if (certificate) identity.certificatePem = std::move(*certificate);
    if (key) identity.keyPem = std::move(*key);
    tls.identities.push_back(std::move(identity));
  }
  readTlsProtocols(reader, tls);
  if (const std::string *ciphers = reader.get("tls_ciphers")) tls.ciphers = *ciphers;
  tls.handshakeTimeout = reader.duration("tls_handshake_timeout").value_or(tls.handshakeTimeout);
  if (tls.handshakeTimeout.count() == 0 || tls.handshakeTimeout > kMaxTlsHandshakeTimeout)
    reader.fail("tls_handshake_timeout", "must be more than 0 and at most 60s");
  readClientVerification(reader, tls);
  tls.alpn = readAlpn(reader);
  readTickets(reader, tls);
  std::optional<std::string> clientCa;
  if (!tls.clientCaFile.empty())
    clientCa = readTlsFile(reader, "tls_client_ca", tls.clientCaFile, held);
  if (!whole) return tls;  // another worker's listener: this one never serves it
  if (clientCa) tls.clientCaPem = std::move(*clientCa);
  try {
    tls::ServerContext check(tls);
  } catch (const tls::SettingsError &error) {
    reader.fail(error.key(), error.what());
  }
  return tls;
}

// Without max_connections, a listener still has a bound that holds: the
// mode's own (a thread per session is costly), else half the descriptors the
// process may open (its hard limit, which wharfd raises to).
size_t defaultMaxConnections(const ModeDescription &mode) {
  if (mode.limits.sessionsDefault != 0) return mode.limits.sessionsDefault;
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_max == RLIM_INFINITY)
    return kMaxSessionsBound;
  return std::clamp<size_t>(files.rlim_max / 2, 1, kMaxSessionsBound);
}

// Without max_per_source, one address (an IPv6 /64) may hold an eighth of
// what the listener serves at once (a pool's workers, a fork listener's
// children, else max_connections), but at least 4 or, when less, half. So one
// address cannot take a listener from every other. Loopback peers are not counted
// (perSourceSparesLoopback).
size_t defaultMaxPerSource(const ModeDescription &mode, const ListenerConfig &listener) {
  size_t capacity = listener.limits.maxConnections;
  if (mode.limits.concurrency) capacity = std::min(capacity, mode.limits.concurrency(listener));
  return std::max({capacity / kPerSourceShare, std::min(kPerSourceFloor, capacity / 2), size_t{1}});
}

ListenerLimits readLimits(const SectionReader &reader, net::Transport transport,
                          const ModeDescription &mode) {
  ListenerLimits limits;
  limits.maxConnections =
      reader.count("max_connections", 1, kMaxSessionsBound).value_or(defaultMaxConnections(mode));
  limits.maxPerSource = reader.count("max_per_source", 0, kMaxSessionsBound).value_or(0);
  limits.acceptRate = reader.rate("accept_rate").value_or(0);
  if (mode.limits.holdsSessions && net::isStream(transport))
    limits.idleTimeout = kBlockingIdleTimeout;
  limits.idleTimeout = reader.duration("idle_timeout").value_or(limits.idleTimeout);
  limits.allow = reader.networks("allow");
  limits.deny = reader.networks("deny");
  if (net::isUnix(transport))
    for (const char *key : {"allow", "deny", "max_per_source"})
      if (reader.get(key)) reader.fail(key, "applies to tcp and udp only (unix peers have no IP)");
  if (auto maxDatagram = reader.count("max_datagram", 1, 65507)) {
    if (net::isStream(transport))
      reader.fail("max_datagram", "applies to datagram transports only");
    limits.maxDatagram = *maxDatagram;
  }
  if (auto rate = reader.rate("datagram_rate")) {
    if (transport != net::Transport::Udp) reader.fail("datagram_rate", "applies to udp only");
    limits.datagramRate = *rate;
  } else if (transport == net::Transport::Udp) {
    limits.datagramRate = kDefaultDatagramRate;
    limits.datagramRateSparesLoopback = true;
  }
  return limits;
}

constexpr size_t kMinOutputBudget = size_t{1} << 20;

// An eighth of the memory (the cgroup's limit, if lower), at most kMaxDefaultOutputBudget.
size_t defaultOutputBudget() {
  return std::clamp(memoryAvailable() / 8, kMinOutputBudget, kMaxDefaultOutputBudget);
}

size_t readWorkers(const SectionReader &reader) {
  const std::string *text = reader.get("workers");
  if (text && *text == "auto") return std::min(coresAvailable(), kMaxWorkers);
  return reader.count("workers", 1, kMaxWorkers).value_or(1);
}

// A user and group must exist when the config is checked, not first when a
// worker starts.
WorkersUser readIdentity(const SectionReader &reader) {
  WorkersUser identity;
  std::vector<char> buffer(16384);
  if (const std::string *user = reader.get("user"); user && !user->empty()) {
    passwd entry{}, *found = nullptr;
    if (::getpwnam_r(user->c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
      reader.fail("user", "no such user '" + *user + "'");
    identity.user = *user;
  }
  if (const std::string *group = reader.get("group"); group && !group->empty()) {
    if (identity.user.empty()) reader.fail("group", "needs user (the workers' user)");
    struct group entry {
    }, *found = nullptr;
    if (::getgrnam_r(group->c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
      reader.fail("group", "no such group '" + *group + "'");
    identity.group = *group;
  }
  return identity;
}

// A soft resource limit, or nullopt when unlimited.
std::optional<rlim_t> softLimit(int resource) {
  rlimit limit{};
  if (::getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return limit.rlim_cur;
}

// Threads and processes a mode starts at once must fit the process's limits
// (ulimit -u, and for threads ulimit -v at one stack each), or the listener
// would fail at start instead of here.
void checkProcessLimits(const SectionReader &reader, const ModeDescription &mode,
                        const ListenerConfig &listener) {
  const std::string key = mode.limits.concurrencyKey;
  if (key.empty()) return;
  size_t count = mode.limits.concurrency(listener);
  if (auto processes = softLimit(RLIMIT_NPROC); processes && count >= *processes)
    reader.fail(key, std::to_string(count) + " is not below the process limit (ulimit -u: " +
                         std::to_string(*processes) + ")");
  auto space = softLimit(RLIMIT_AS);
  if (!space || !mode.limits.concurrencyInThreads) return;
  rlim_t stack = softLimit(RLIMIT_STACK).value_or(2u << 20);  // glibc's thread stack size
  if (static_cast<double>(count) * static_cast<double>(stack) > static_cast<double>(*space) / 2)
    reader.fail(key, std::to_string(count) + " threads of " + std::to_string(stack >> 10) +
                         " KiB stack need more than half the address space limit (ulimit -v: " +
                         std::to_string(*space >> 10) + " KiB)");
}

// dlopen's own message for a text file is cryptic ("invalid ELF header"
// without the config line): say it here, with file:line.
bool looksLikeSharedLibrary(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  char magic[SELFMAG] = {};
  return in.read(magic, SELFMAG) && std::memcmp(magic, ELFMAG, SELFMAG) == 0;
}

}  // namespace

std::string joined(const std::vector<std::string> &names) {
  std::string text;
  for (const auto &name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

Config ConfigLoader::load(const std::filesystem::path &file) const {
  return build(IniDocument::read(std::filesystem::absolute(file)));
}

Config ConfigLoader::parse(const std::filesystem::path &file, const std::string &text,
                           const HeldFiles *held) const {
  return build(IniDocument::parse(std::filesystem::absolute(file), text), held);
}

Config ConfigLoader::build(const IniDocument &document, const HeldFiles *held) const {
  Config config;
  config.file = document.file;
  config.host = buildHost(document);
  for (const auto &section : document.sections) {
    if (section.name == kHostSection) continue;
    if (!section.name.starts_with(kListenerPrefix) || section.name == kListenerPrefix)
      throw ConfigError({document.file, section.line, section.name, ""},
                        "unknown section (expected [host] or [listener.NAME])");
    if (config.listeners.size() == kMaxListeners)
      throw ConfigError({document.file, section.line, section.name, ""},
                        "more than " + std::to_string(kMaxListeners) + " listeners");
    ListenerConfig listener = buildListener(document, section, config.warnings, config.host, held);
    for (const auto &other : config.listeners)
      if (other.endpoint.conflictsWith(listener.endpoint))
        SectionReader(document, section)
            .fail("listen", "address already used by [" + other.section() + "]");
    if (config.host.metrics && config.host.metrics->conflictsWith(listener.endpoint))
      SectionReader(document, section).fail("listen", "address already used by [host] metrics");
    config.listeners.push_back(std::move(listener));
  }
  if (config.listeners.empty())
    throw ConfigError({document.file, 0, "", ""}, "no [listener.NAME] section: nothing to serve");
  return config;
}

HostConfig ConfigLoader::buildHost(const IniDocument &document) const {
  HostConfig host;
  host.pluginDir = defaults_.pluginDir;
  host.outputBudget = defaultOutputBudget();
  host.memoryLimit = std::max(kMinMemoryLimit, memoryAvailable() / 2);
  auto section = std::find_if(document.sections.begin(), document.sections.end(),
                              [](const IniSection &s) { return s.name == kHostSection; });
  if (section == document.sections.end()) return host;
  SectionReader reader(document, *section);
  reader.rejectUnknownKeys(kHostKeys, false);
  if (const std::string *dir = reader.get("plugin_dir")) host.pluginDir = reader.path(*dir);
  if (const std::string *admin = reader.get("admin"); admin && !admin->empty())
    host.adminSocket = reader.path(*admin);
  if (const std::string *pidFile = reader.get("pid_file"); pidFile && !pidFile->empty())
    host.pidFile = reader.path(*pidFile);
  if (const std::string *level = reader.get("log_level")) {
    try {
      Poco::Logger::parseLevel(*level);
    } catch (const Poco::Exception &) {
      reader.fail("log_level",
                  "unknown level '" + *level +
                      "' (expected fatal, critical, error, warning, notice, information, debug, "
                      "trace)");
    }
    host.logLevel = *level;
  }
  host.shutdownTimeout = reader.duration("shutdown_timeout").value_or(host.shutdownTimeout);
  host.drainTimeout = reader.duration("drain_timeout").value_or(host.drainTimeout);
  host.reloadTimeout = reader.duration("reload_timeout").value_or(host.reloadTimeout);
  if (host.reloadTimeout < std::chrono::seconds(1))
    reader.fail("reload_timeout", "must be at least 1s (a worker needs time to load plugins)");
  host.workerTimeout = reader.duration("worker_timeout").value_or(host.workerTimeout);
  if (host.workerTimeout < std::chrono::seconds(3))
    reader.fail("worker_timeout", "must be at least 3s (workers answer a heartbeat each second)");
  host.maxGenerations =
      reader.count("max_generations", 2, kMaxGenerationsBound).value_or(host.maxGenerations);
  host.watch = reader.flag("watch").value_or(host.watch);
  host.coreDumps = reader.flag("core_dumps").value_or(host.coreDumps);
  host.workers = readWorkers(reader);
  // The default is each worker's share, so that all of them together stay within it.
  host.outputBudget =
      reader.count("output_budget", kMinOutputBudget, kMaxOutputBudget)
          .value_or(
              std::max(kMinOutputBudget, host.outputBudget / std::max<size_t>(1, host.workers)));
  if (const std::string *limit = reader.get("memory_limit"); limit && *limit == "off")
    host.memoryLimit.reset();
  else if (auto bytes = reader.count("memory_limit", kMinMemoryLimit, kMaxMemoryLimit))
    host.memoryLimit = bytes;
  if (const std::string *metrics = reader.get("metrics"); metrics && !metrics->empty()) {
    try {
      bool socketPath = metrics->find('/') != std::string::npos;  // a socket path
      host.metrics = net::parseEndpoint(socketPath ? net::Transport::Unix : net::Transport::Tcp,
                                        socketPath ? reader.path(*metrics).string() : *metrics);
    } catch (const std::invalid_argument &error) {
      reader.fail("metrics", "bad address '" + *metrics + "': " + error.what());
    }
  }
  host.log = readLogDestination(reader, "log", {"stderr", "syslog"}).value_or(host.log);
  host.accessLog =
      readLogDestination(reader, "access_log", {"off", "syslog"}).value_or(host.accessLog);
  host.accessLogFormat = readAccessLogFormat(reader).value_or(host.accessLogFormat);
  host.logEmptySessions = reader.flag("log_empty_sessions").value_or(host.logEmptySessions);
  WorkersUser identity = readIdentity(reader);
  host.user = identity.user;
  host.group = identity.group;
  return host;
}

ListenerConfig ConfigLoader::buildListener(const IniDocument &document, const IniSection &section,
                                           std::vector<std::string> &warnings,
                                           const HostConfig &host, const HeldFiles *held) const {
  SectionReader reader(document, section);
  ListenerConfig listener;
  listener.name = section.name.substr(kListenerPrefix.size());
  listener.line = section.line;

  const std::string *mode = reader.get("mode");
  listener.mode = mode ? *mode : "thread";
  std::vector<std::string> modeNames;
  std::set<std::string> known = kListenerKeys;
  const ModeDescription *chosen = nullptr;
  for (const auto &offered : defaults_.modes) {
    modeNames.push_back(offered.mode);
    if (offered.mode != listener.mode) continue;
    known.insert(offered.keys.begin(), offered.keys.end());
    chosen = &offered;
  }
  if (chosen == nullptr)
    reader.fail("mode",
                "unknown mode '" + listener.mode + "' (expected one of " + joined(modeNames) + ")");
  for (const auto &offered : defaults_.modes)
    for (const auto &key : offered.keys)
      if (!known.contains(key) && reader.get(key)) {
        std::vector<std::string> takers;
        for (const auto &mode : defaults_.modes)
          if (std::find(mode.keys.begin(), mode.keys.end(), key) != mode.keys.end())
            takers.push_back(mode.mode);
        reader.fail(key, "applies to mode = " + joined(takers) + " only");
      }
  reader.rejectUnknownKeys(known, true);

  const std::string &transportText = reader.require("transport");
  auto transport = net::parseTransport(transportText);
  if (!transport)
    reader.fail("transport",
                "unknown transport '" + transportText + "' (expected tcp, udp, unix, unix-dgram)");

  std::string listen = reader.require("listen");
  if (net::isUnix(*transport)) listen = reader.path(listen).string();
  try {
    listener.endpoint = net::parseEndpoint(*transport, listen);
  } catch (const std::invalid_argument &error) {
    reader.fail("listen", "bad address '" + listen + "': " + error.what());
  }

  listener.pluginName = reader.require("plugin");
  listener.pluginPath = listener.pluginName.find('/') != std::string::npos
                            ? reader.path(listener.pluginName)
                            : host.pluginDir / (listener.pluginName + ".so");
  std::error_code error;
  if (!std::filesystem::is_regular_file(listener.pluginPath, error))
    reader.fail("plugin", "plugin '" + listener.pluginName + "' not found: no file " +
                              listener.pluginPath.string());
  if (!looksLikeSharedLibrary(listener.pluginPath))
    reader.fail("plugin",
                listener.pluginPath.string() + " is not a shared library (no ELF header)");

  if (auto backlog = reader.count("backlog", 1, kMaxBacklog))
    listener.backlog = static_cast<int>(*backlog);  // the kernel caps it at net.core.somaxconn
  listener.limits = readLimits(reader, *transport, *chosen);
  // A pool's threads were `workers`, the name [host] gives worker processes:
  // the old name still works, and says so.
  if (reader.get("workers")) {
    if (reader.get("pool_threads"))
      reader.fail("workers", "the old name of pool_threads: give one of them");
    warnings.push_back(reader.warning("workers",
                                      "renamed pool_threads (the threads of a pool; "
                                      "[host] workers are processes): rename it"));
    listener.pool.workers = *reader.count("workers", 1, kMaxPoolThreads);
  }
  listener.pool.workers =
      reader.count("pool_threads", 1, kMaxPoolThreads).value_or(listener.pool.workers);
  listener.pool.queue = reader.count("queue", 0, kMaxQueue).value_or(listener.pool.queue);
  listener.fork.maxChildren =
      reader.count("max_children", 1, kMaxChildrenBound).value_or(listener.fork.maxChildren);
  if (!net::isUnix(*transport) && !reader.get("max_per_source")) {
    listener.limits.maxPerSource = defaultMaxPerSource(*chosen, listener);
    listener.limits.perSourceSparesLoopback = true;
  }
  listener.reactor.outputHighWater = reader.count("output_high_water", 4096, kMaxOutputHighWater)
                                         .value_or(listener.reactor.outputHighWater);
  listener.reactor.sendTimeout =
      reader.duration("send_timeout").value_or(listener.reactor.sendTimeout);
  if (reader.get("send_timeout") && !net::isStream(*transport))
    reader.fail("send_timeout", "applies to stream transports only");
  listener.migration.enabled = reader.flag("migrate").value_or(false);
  listener.migration.timeout =
      reader.duration("migrate_timeout").value_or(listener.migration.timeout);
  if (reader.get("migrate_timeout") && !listener.migration.enabled)
    reader.fail("migrate_timeout", "needs migrate = on");
  if (listener.migration.timeout < kMinMigrateTimeout ||
      listener.migration.timeout > kMaxMigrateTimeout)
    reader.fail("migrate_timeout",
                "must be from 250ms (a busy session is tried again each "
                "250 ms) to 60s");
  if (reader.get("migrate") && !net::isStream(*transport))
    reader.fail("migrate",
                "applies to stream transports only (a datagram's session is over "
                "once it is answered)");
  listener.waitForData = reader.duration("wait_for_data");
  if (listener.waitForData && !net::isStream(*transport))
    reader.fail("wait_for_data", "applies to stream transports only");
  listener.isolate = reader.flag("isolate").value_or(false);
  listener.user = readIdentity(reader);
  if (!listener.user.user.empty() && !listener.isolate)
    reader.fail("user",
                "needs isolate = true (the listeners that share workers run as [host] user)");
  listener.accessLog =
      readLogDestination(reader, "access_log", {"off", "syslog"}).value_or(host.accessLog);
  listener.accessLogFormat = readAccessLogFormat(reader).value_or(host.accessLogFormat);
  listener.logEmptySessions = reader.flag("log_empty_sessions").value_or(host.logEmptySessions);
  listener.proxy = readProxy(reader, *transport);
  listener.tls = readTls(reader, *transport, held);
  checkProcessLimits(reader, *chosen, listener);

  for (const auto &entry : section.entries)
    if (entry.key.starts_with(kOptionPrefix))
      listener.options.push_back({entry.key.substr(kOptionPrefix.size()), entry.value});
  return listener;
}

}  // namespace wharf::config
