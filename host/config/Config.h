// Internal. The validated configuration: plain data, built by ConfigLoader.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/Cidr.h"
#include "net/Endpoint.h"
#include "net/ProxyHeader.h"

namespace wharf::config {

struct PluginOption {
  std::string key;  // without the "option." prefix
  std::string value;

  bool operator==(const PluginOption &) const = default;
};

// What a listener admits; 0 means unlimited, except for maxConnections.
struct ListenerLimits {
  size_t maxConnections = 1024;  // sessions at once (ConfigLoader sets the default)
  size_t maxPerSource = 0;       // sessions at once from one IP address (IPv6: one /64)
  // The default max_per_source leaves loopback peers uncounted: a proxy on
  // the same host connects from one of those for every client.
  bool perSourceSparesLoopback = false;
  double acceptRate = 0;  // new sessions per second; beyond it, accepting pauses
  // A stream session with no traffic either way for this long ends.
  std::chrono::milliseconds idleTimeout{0};
  size_t maxDatagram = 65507;  // larger datagrams are dropped
  double datagramRate = 0;     // datagrams a second served per source (udp); more are dropped
  bool datagramRateSparesLoopback = false;  // as perSourceSparesLoopback, for the default
  std::vector<net::Cidr> allow;
  std::vector<net::Cidr> deny;
};

// mode = pool: a fixed set of worker threads and a bounded queue before them.
// PROXY protocol: a load balancer in front names each connection's client.
struct ProxySettings {
  std::optional<net::proxy::Accepted> accepted;  // none: off
  std::vector<net::Cidr> from;                   // tcp: who may send a header
  std::chrono::milliseconds timeout{5000};       // for the whole header

  bool enabled() const { return accepted.has_value(); }
  // Whether a connection from `peer` may carry a header (and, on a listener
  // with proxy_protocol, must): any peer of a unix socket (its permissions
  // say who connects), else one of proxy_from.
  bool trusts(const net::SocketAddress &peer) const;
};

struct PoolSettings {
  size_t workers = 8;
  size_t queue = 64;
};

// mode = fork: at most this many session processes at once; more are refused.
struct ForkSettings {
  size_t maxChildren = 64;
};

// mode = reactor: above this many bytes queued for a session's peer, the loop
// stops reading that session until the queue drains (a peer that sends and
// never reads cannot grow wharfd's memory).
struct ReactorSettings {
  size_t outputHighWater = 1 << 20;
  // A session whose waiting output its peer has taken none of for this long
  // is closed; 0: never.
  std::chrono::milliseconds sendTimeout{std::chrono::seconds(60)};
};

// migrate = on (reactor): a reload moves the open sessions of older plugin
// generations onto the new one, if both plugins carry sessions (SDK 1.5's
// session_export and session_import). A session not quiescent within
// `timeout` of the reload stays on its generation.
struct MigrationSettings {
  bool enabled = false;
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
};

// One certificate chain and its key (the n-th of tls_cert and of tls_key).
struct TlsIdentity {
  std::filesystem::path certificateFile;  // the chain, leaf first
  std::filesystem::path keyFile;
  std::string certificatePem;  // their contents
  std::string keyPem;

  bool operator==(const TlsIdentity &) const = default;
};

// tls = on: the host ends TLS for the listener's sessions; the plugin sees
// plaintext. The PEM files are read when the config is (by the master, as
// root): a worker never needs to read the key, and a changed file is a
// changed config, which a reload applies by swapping the listener's TLS
// context (tls::ContextSlot) for new connections.
struct TlsSettings {
  bool enabled = false;
  // Each client gets the first whose certificate names the host it asked
  // for (SNI), else the first.
  std::vector<TlsIdentity> identities;
  std::string minProtocol = "TLSv1.2";  // tls_protocols, lowest and highest
  std::string maxProtocol = "TLSv1.3";
  std::string ciphers;  // tls_ciphers (TLS 1.2 and below; empty: OpenSSL's default)
  // tls_verify_client: whether a client must show a certificate that one of
  // tls_client_ca's authorities signed (mutual TLS); Optional: if it shows one.
  enum class VerifyClient { Off, Optional, On };
  VerifyClient verifyClient = VerifyClient::Off;
  std::filesystem::path clientCaFile;  // tls_client_ca
  std::string clientCaPem;
  std::vector<std::string> alpn;  // tls_alpn: what the listener offers, preferred first
  // A connection that has not finished its handshake in this long is closed:
  // a silent client holds no thread longer.
  std::chrono::milliseconds handshakeTimeout{std::chrono::seconds(10)};
  // tls_tickets: clients resume sessions with tickets, sealed with keys the
  // master makes (never written anywhere) and replaces every
  // tls_ticket_rotation; a ticket is good for one to two rotations.
  bool tickets = true;
  std::chrono::milliseconds ticketRotation{std::chrono::hours(12)};

  bool operator==(const TlsSettings &) const = default;
};

// How access log lines are written: key=value pairs, or one JSON object.
enum class AccessLogFormat { Logfmt, Json };

// Who a listener's workers run as.
struct WorkersUser {
  std::string user;   // empty: who wharfd is
  std::string group;  // empty: the user's own
  bool operator==(const WorkersUser &) const = default;
};

struct ListenerConfig {
  std::string name;                   // "echo-tcp" for [listener.echo-tcp]
  net::Endpoint endpoint;             // transport + listen
  std::string mode;                   // a dispatch mode name
  std::string pluginName;             // the `plugin` value as written
  std::filesystem::path pluginPath;   // resolved against plugin_dir
  std::vector<PluginOption> options;  // in file order
  int backlog = SOMAXCONN;
  ListenerLimits limits;
  PoolSettings pool;
  ForkSettings fork;
  ReactorSettings reactor;
  MigrationSettings migration;
  ProxySettings proxy;
  TlsSettings tls;
  // Blocking modes: a connection gets a thread, worker or process only once
  // its peer has sent data; silent this long, it is closed. 0: at once.
  // Unset: kClientFirstWaitForData for a plugin whose client speaks first
  // (WHARF_CAP_CLIENT_FIRST), else 0.
  std::optional<std::chrono::milliseconds> waitForData;
  bool isolate = false;   // served by worker processes of its own
  WorkersUser user;       // an isolated listener's own (empty user: [host]'s)
  std::string accessLog;  // "syslog", a file path, or empty: none
  AccessLogFormat accessLogFormat = AccessLogFormat::Logfmt;
  // Off: a session that carried no byte either way (a port scan, a health
  // check's PROXY LOCAL) gets no access log line; it is still counted.
  bool logEmptySessions = true;
  int line = 0;  // of the section header, for messages

  std::string section() const { return "listener." + name; }
  // Whether `other` differs from this at most in its plugin and options, and
  // its TLS certificate and settings: then a reload keeps the listener, and
  // at most its plugin generation and TLS context change.
  bool sameShapeAs(const ListenerConfig &other) const;
};

constexpr size_t kMinMemoryLimit = size_t{16} << 20;  // [host] memory_limit's bounds
constexpr size_t kMaxMemoryLimit = size_t{1} << 40;
constexpr size_t kMaxDefaultOutputBudget = size_t{1} << 30;  // [host] output_budget's default
constexpr size_t kMaxOutputBudget = size_t{1} << 40;         // and its maximum

struct HostConfig {
  std::filesystem::path pluginDir;
  std::filesystem::path adminSocket;  // empty: no control socket
  std::filesystem::path pidFile;      // empty: none
  std::string logLevel = "information";
  std::chrono::milliseconds shutdownTimeout{30000};  // then remaining sessions are cut
  // After a reload, sessions on an older plugin generation (or a removed
  // listener) may run this long; then they are cut.
  std::chrono::milliseconds drainTimeout{std::chrono::minutes(10)};
  // A worker that has not applied a reload in this long (a plugin stuck in
  // on_instance_new) is killed, and its replacement serves the old config.
  std::chrono::milliseconds reloadTimeout{std::chrono::minutes(1)};
  // A worker whose heartbeat answer does not come (stopped, wedged) or says
  // an event loop is stuck in one batch for this long is killed and replaced.
  std::chrono::milliseconds workerTimeout{std::chrono::seconds(20)};
  size_t maxGenerations = 4;  // loaded at once per listener, the current one included
  bool watch = false;         // reload a plugin when its file in plugin_dir is replaced
  size_t workers = 1;         // worker processes per group of listeners (`auto`: one per core)
  // A worker holding more memory than this (resident plus swapped out) is
  // killed and replaced (nullopt: off). Default: half the memory available.
  std::optional<size_t> memoryLimit;
  std::string user;   // workers switch to this user (empty: stay who wharfd is)
  std::string group;  // and this group (empty: the user's own)
  WorkersUser workersUser() const { return {user, group}; }
  // Workers stay non-dumpable (no core file, and no ptrace, /proc/PID/fd or
  // pidfd_getfd by another process of the same user, another worker's plugin
  // included) unless this is on.
  bool coreDumps = false;
  std::optional<net::Endpoint> metrics;  // GET /metrics over HTTP here (none: off)
  std::string log = "stderr";            // wharfd's log: "stderr", "syslog" or a file path
  std::string accessLog;                 // listeners' default: "syslog", a file path, or none
  AccessLogFormat accessLogFormat = AccessLogFormat::Logfmt;  // listeners' default
  bool logEmptySessions = true;                               // listeners' default
  // Bytes a worker's reactor sessions may hold queued for peers that do not
  // read them; past it the biggest of those are cut (ConfigLoader sets the
  // default: an eighth of the memory, at most 1 GiB).
  size_t outputBudget = kMaxDefaultOutputBudget;
};

// Upper bounds of counts, checked when the config is read (docs/operating.md, "Limits
// and defaults").
constexpr size_t kMaxWorkers = 256;            // [host] workers
constexpr size_t kMaxListeners = 1024;         // [listener.*] sections
constexpr size_t kMaxGenerationsBound = 64;    // [host] max_generations
constexpr size_t kMaxSessionsBound = 1000000;  // max_connections, max_per_source
constexpr size_t kThreadModeSessions = 1024;   // mode = thread's default max_connections
// wait_for_data's default for a plugin whose client speaks first.
constexpr std::chrono::seconds kClientFirstWaitForData{60};
// Without max_per_source, one address may hold this share of what a listener
// serves at once, and never less than the floor (or half, if that is less).
constexpr size_t kPerSourceShare = 8;  // an eighth
constexpr size_t kPerSourceFloor = 4;
// Without datagram_rate, one UDP source (address, IPv6 /64) may have this
// many datagrams a second served; loopback sources are not counted.
constexpr double kDefaultDatagramRate = 1000;
constexpr double kMaxRate = 1e9;  // accept_rate, datagram_rate
// Modes where a session holds a thread, worker or process: idle_timeout's default.
constexpr std::chrono::minutes kBlockingIdleTimeout{5};
constexpr size_t kMaxBacklog = 65535;                         // backlog
constexpr size_t kMaxPoolThreads = 4096;                      // pool workers
constexpr size_t kMaxQueue = 1000000;                         // pool queue
constexpr size_t kMaxChildrenBound = 4096;                    // fork max_children
constexpr size_t kMaxOutputHighWater = 1u << 30;              // reactor output_high_water
constexpr std::chrono::seconds kMaxProxyTimeout{60};          // proxy_timeout
constexpr std::chrono::seconds kMaxTlsHandshakeTimeout{60};   // tls_handshake_timeout
constexpr std::chrono::milliseconds kMinMigrateTimeout{250};  // migrate_timeout: the reactor's tick
constexpr std::chrono::seconds kMaxMigrateTimeout{60};        // migrate_timeout
// tls_ticket_rotation: at least a minute (a ticket good for less is seldom
// used), at most a day (a key that leaks opens the sessions of two rotations).
constexpr std::chrono::minutes kMinTlsTicketRotation{1};
constexpr std::chrono::hours kMaxTlsTicketRotation{24};
constexpr size_t kMaxTlsFileSize = size_t{1} << 20;  // tls_cert, tls_key
constexpr size_t kMaxTlsIdentities = 64;             // tls_cert, tls_key pairs

// The contents of files the config names that a worker may not be able to
// read as its user (tls_cert, tls_key), by path: the master passes them on.
using HeldFiles = std::map<std::filesystem::path, std::string>;

struct Config {
  std::filesystem::path file;
  HostConfig host;
  std::vector<ListenerConfig> listeners;
  // What the config may keep but should change (a key's old name), each as
  // "file:line: [section] key: what to do". The master logs them; so does
  // --check-config.
  std::vector<std::string> warnings;

  // The listener's own user if it has one, else [host] user and group.
  WorkersUser workersUserOf(const ListenerConfig &listener) const;
  // Every user workers of this config run as, [host]'s first, each once.
  std::vector<WorkersUser> workersUsers() const;
  // What the listeners named (nullopt: all) hold of the files they name.
  HeldFiles heldFiles(const std::optional<std::vector<std::string>> &listenerNames = {}) const;
};

}  // namespace wharf::config
