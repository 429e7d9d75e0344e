/*
 * wharf.h — the Wharf plugin ABI, version 1.
 *
 * A Wharf plugin is a shared library that serves the sessions of one or more
 * listeners of `wharfd`. This header is the whole contract between the host
 * and a plugin. It is plain C (C99), so any language with a C FFI can
 * implement it; `wharf.hpp` is an optional header-only C++ wrapper.
 *
 * TRUST MODEL
 *   A plugin runs inside the host process with the host's privileges. The host
 *   trusts it not to be malicious, but not to be correct: every hook's status
 *   is checked, a failing hook closes that session only, and every pointer the
 *   host hands out is valid only for the time documented on it.
 *
 * VERSIONING
 *   The plugin exports exactly one symbol, `wharf_plugin_entry`. The host calls
 *   it with a `wharf_host` and receives a `wharf_plugin`. Both structs open
 *   with the same header: magic, ABI major, ABI minor, struct size, and the
 *   build facts (pointer, size_t and off_t sizes).
 *   - Another major is refused. A plugin built for a newer minor than the
 *     host offers is refused by name.
 *   - Minor versions only ever append: fields at the end of `wharf_plugin`,
 *     functions at the end of `wharf_host_api`. A reader never looks past
 *     the `struct_size` its peer declared; use WHARF_HOST_HAS() before calling
 *     a host function that was added after the minor you require.
 *   - Every hook but the ones a style needs is optional: NULL means "the
 *     host's default".
 *
 * LEVELS
 *   plugin   — the loaded library: on_plugin_load / on_plugin_unload.
 *   instance — one per listener (config section) that names the plugin:
 *              host handle `wharf_instance *`, plugin state `void *`.
 *   session  — one stream connection, or one datagram exchange (a received
 *              datagram and the replies to its sender): host handle
 *              `wharf_session *`, plugin state `void *`.
 *
 * STALE HANDLES
 *   A session, instance or waker handle kept past its end (after
 *   on_session_close, after on_instance_destroy, after waker_release) names
 *   nothing: the host functions answer WHARF_CLOSED (or NULL, 0, -1, "",
 *   WHARF_END_NONE) and count it (wharf_plugin_stale_handles_total), and
 *   never reach the session or instance that came next. This holds on the
 *   thread the handle belongs to (a session's: the one running its hooks);
 *   a session handle used from another thread races with the session's end
 *   (use a waker). Zone and metric handles are not checked: they are valid
 *   until on_instance_destroy returns. Handles are opaque values, not
 *   pointers: never tag their bits.
 *
 * STYLES
 *   EVENT    (WHARF_CAP_EVENT): non-blocking hooks. The host reads; the plugin
 *            reacts in on_session_data / on_datagram and writes with
 *            session_write, which queues and never blocks. Runs in every
 *            concurrency mode, the reactor included.
 *   BLOCKING (WHARF_CAP_BLOCKING): one `serve` hook per session that reads
 *            and writes with blocking host calls. Runs in the modes that give
 *            a session its own thread or process (sync, thread, pool, fork).
 *   Required hooks: EVENT with WHARF_CAP_STREAM needs on_session_data; EVENT
 *   with WHARF_CAP_DATAGRAM needs on_datagram; BLOCKING needs serve. A
 *   plugin declaring both styles gets serve() in the blocking modes and the
 *   event hooks on the reactor.
 *
 * NAMING
 *   wharf_*            types and constants
 *   on_*               hooks the plugin implements (members of wharf_plugin)
 *   wharf_host_api.*   functions the host implements
 *   `_plugin_` state is owned by the plugin, `_host_` handles by the host.
 *
 * NOTHING CROSSES THE BOUNDARY BUT C: a hook never lets a C++ exception,
 * Rust panic or longjmp escape; it returns a status instead.
 */
#ifndef WHARF_WHARF_H
#define WHARF_WHARF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Versions and identity                                                     */
/* ------------------------------------------------------------------------ */

#define WHARF_ABI_MAJOR 1
#define WHARF_ABI_MINOR 6
#define WHARF_SDK_VERSION "1.6.0" /* ABI major.minor, then the SDK's own patch level */

#define WHARF_HOST_MAGIC 0x57484f53u   /* "WHOS" */
#define WHARF_PLUGIN_MAGIC 0x57504c47u /* "WPLG" */

/* The one symbol a plugin exports. */
#define WHARF_PLUGIN_ENTRY_SYMBOL "wharf_plugin_entry"

#if defined(__GNUC__)
#define WHARF_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define WHARF_PLUGIN_EXPORT
#endif

/* ------------------------------------------------------------------------ */
/* Types                                                                      */
/* ------------------------------------------------------------------------ */

/* Opaque host handles. Only host functions look inside. */
typedef struct wharf_instance wharf_instance; /* a listener's plugin instance */
typedef struct wharf_session wharf_session;   /* a connection or a datagram exchange */

/* Status codes: zero is success, every failure is negative. */
typedef enum wharf_status {
  WHARF_OK = 0,
  WHARF_ERROR = -1,            /* generic failure; the session is closed */
  WHARF_CLOSED = -2,           /* the peer closed, or the session was closed */
  WHARF_UNSUPPORTED = -3,      /* this call is not available in this style or mode */
  WHARF_INVALID = -4,          /* a bad argument */
  WHARF_NOT_FOUND = -5,        /* no such option, or index out of range */
  WHARF_BUFFER_TOO_SMALL = -6, /* the output did not fit; nothing was written */
  WHARF_ENDED = -7             /* 1.2: the host ended the session (idle_timeout, a drain,
                                  shutdown): session_end_reason says which. A hook may return
                                  it as it got it */
} wharf_status;

/* Why a session ends (session_end_reason, 1.2). */
typedef enum wharf_end_reason {
  WHARF_END_NONE = 0,     /* it has not begun to end */
  WHARF_END_PEER = 1,     /* the peer closed, reset or went away */
  WHARF_END_PLUGIN = 2,   /* the plugin closed it (session_close, or serve returned) */
  WHARF_END_IDLE = 3,     /* idle_timeout (no traffic either way), send_timeout or
                             output_budget (the peer read none of its output) */
  WHARF_END_DRAIN = 4,    /* a reload's drain ran out (drain_timeout, max_generations, a
                             removed listener) */
  WHARF_END_SHUTDOWN = 5, /* wharfd is stopping (shutdown_timeout, SIGQUIT) */
  WHARF_END_ERROR = 6,    /* a hook failed, or the host ran out of something */
  WHARF_END_MIGRATED = 7  /* 1.5: not an end: the session moved to a newer generation of the
                             plugin (session_export); only the old state's on_session_close
                             sees it */
} wharf_end_reason;

typedef enum wharf_log_level {
  WHARF_LOG_ERROR = 3,
  WHARF_LOG_WARNING = 4,
  WHARF_LOG_NOTICE = 5,
  WHARF_LOG_INFO = 6,
  WHARF_LOG_DEBUG = 7
} wharf_log_level;

/* What a listener's transport delivers to the plugin. */
typedef enum wharf_socket_kind {
  WHARF_SOCKET_STREAM = 1,  /* tcp, unix: byte streams, one session per connection */
  WHARF_SOCKET_DATAGRAM = 2 /* udp, unix-dgram: one session per received datagram */
} wharf_socket_kind;

/* A session's addresses (session_address, 1.2). Behind a load balancer that
 * sends PROXY headers (the listener's `proxy_protocol`), the connection's
 * socket joins the balancer to wharfd, and the header names the client. */
typedef enum wharf_address {
  WHARF_ADDRESS_PEER = 1,    /* the client: the PROXY header's source behind a balancer,
                                else the socket's peer (what session_peer spells) */
  WHARF_ADDRESS_LOCAL = 2,   /* this end: the socket's local address (for a datagram
                                session, the listener's) */
  WHARF_ADDRESS_BALANCER = 3 /* the balancer that sent the PROXY header: the socket's peer.
                                WHARF_NOT_FOUND unless the listener has proxy_protocol */
} wharf_address;

/* Where bytes a plugin moved itself went (session_count_bytes, 1.3). */
typedef enum wharf_bytes_path {
  WHARF_BYTES_SESSION_SOCKET = 1, /* the session's own descriptor (session_socket), past the
                                     host: sendfile, splice, a TLS library's I/O */
  WHARF_BYTES_OWN_CONNECTION = 2  /* a connection of the plugin's own for this session
                                     (FTP's data connections) */
} wharf_bytes_path;

/* What a session over TLS agreed on (session_tls, 1.4). The host ends TLS for
 * a listener with `tls = on`; the plugin reads and writes plaintext. */
typedef enum wharf_tls_field {
  WHARF_TLS_PROTOCOL = 1,      /* "TLSv1.2", "TLSv1.3" */
  WHARF_TLS_CIPHER = 2,        /* OpenSSL's name, e.g. "TLS_AES_256_GCM_SHA384" */
  WHARF_TLS_SERVER_NAME = 3,   /* the host name the client asked for (SNI) */
  WHARF_TLS_ALPN = 4,          /* the application protocol agreed (ALPN, the listener's tls_alpn) */
  WHARF_TLS_CLIENT_SUBJECT = 5 /* the client certificate's subject, RFC 2253 ("CN=a,O=b"), once
                                  verified against the listener's tls_client_ca */
} wharf_tls_field;

/* Metrics a plugin declares (metric_declare, 1.2). */
typedef struct wharf_metric wharf_metric; /* one series: the host's */
typedef enum wharf_metric_kind {
  WHARF_METRIC_COUNTER = 1, /* only grows; its name ends in _total */
  WHARF_METRIC_GAUGE = 2    /* goes up and down */
} wharf_metric_kind;

/* A shared zone (zone_declare, 1.2): memory of a listener that every worker
 * maps and that a reload's new instance gets again. */
typedef struct wharf_zone wharf_zone;

/* Capabilities a plugin declares in wharf_plugin.capabilities. The host
 * refuses, at config check, a listener whose needs they do not cover. */
#define WHARF_CAP_EVENT (1u << 0)        /* implements the event hooks */
#define WHARF_CAP_BLOCKING (1u << 1)     /* implements serve() */
#define WHARF_CAP_STREAM (1u << 2)       /* serves stream transports (tcp, unix) */
#define WHARF_CAP_DATAGRAM (1u << 3)     /* serves datagram transports (udp, unix-dgram) */
#define WHARF_CAP_CONCURRENT (1u << 4)   /* hooks of different sessions may run at once */
#define WHARF_CAP_FORK_SAFE (1u << 5)    /* may serve a session in a forked child process */
#define WHARF_CAP_NEVER_UNLOAD (1u << 6) /* the host must never dlclose this library */
/* The protocol's client speaks first (echo, HTTP), not the server (FTP, RFC
 * 868): in the blocking modes a connection then waits, costing no thread,
 * worker or process, until its peer sends something (wait_for_data, on by
 * default for such a plugin). Hosts before SDK 1.2.1 ignore it. */
#define WHARF_CAP_CLIENT_FIRST (1u << 7)
/* The plugin reads and writes the session's socket itself (session_socket),
 * as FTP does with TLS of its own: the host refuses it on a listener with
 * `tls = on`, whose sockets carry TLS records. Hosts before SDK 1.4 ignore it. */
#define WHARF_CAP_OWN_SOCKET (1u << 8)

/* Every struct that crosses the boundary opens with this header. */
typedef struct wharf_abi_header {
  uint32_t magic;       /* WHARF_HOST_MAGIC or WHARF_PLUGIN_MAGIC */
  uint16_t abi_major;   /* WHARF_ABI_MAJOR the writer was built with */
  uint16_t abi_minor;   /* WHARF_ABI_MINOR the writer was built with */
  uint32_t struct_size; /* sizeof the whole struct as the writer knew it */
  uint8_t pointer_size; /* sizeof(void *) */
  uint8_t size_t_size;  /* sizeof(size_t) */
  uint8_t off_t_size;   /* sizeof(off_t): catches _FILE_OFFSET_BITS mismatches */
  uint8_t reserved;     /* zero */
} wharf_abi_header;

#define WHARF_ABI_HEADER_INIT(magic_, type_)                                                      \
  {                                                                                               \
    (magic_), WHARF_ABI_MAJOR, WHARF_ABI_MINOR, (uint32_t)sizeof(type_), (uint8_t)sizeof(void *), \
        (uint8_t)sizeof(size_t), (uint8_t)sizeof(off_t), 0                                        \
  }

/* ------------------------------------------------------------------------ */
/* Callbacks the host implements                                              */
/* ------------------------------------------------------------------------ */

/* Scheduling (1.2): timers and posted calls of an event-style stream
 * session. A callback runs where the session's hooks run (the reactor's loop
 * thread, or the session's own thread in the other modes), never at the same
 * time as one of them; its status counts as a hook's (a failure closes the
 * session). A waker is the plugin's handle to post to a session from any
 * thread. */
typedef wharf_status (*wharf_session_callback)(void *instance_state, void *session_state,
                                               wharf_session *session, void *user);
typedef void (*wharf_dropped_callback)(void *user);
typedef struct wharf_waker wharf_waker;
/* An instance timer's callback (instance_timer_start, 1.2). A failure is
 * logged and cancels that timer. */
typedef wharf_status (*wharf_instance_callback)(void *instance_state, void *user);

/*
 * The host's function table. Append-only: a function added in minor N sits
 * after every function of minor N-1. Check with WHARF_HOST_HAS before calling
 * anything newer than 1.0. THREAD: every function may be called from any
 * thread that is running one of the plugin's hooks for the handle passed.
 */
typedef struct wharf_host_api {
  uint32_t struct_size; /* sizeof(wharf_host_api) as the host knows it */
  uint32_t reserved;

  /* --- memory: what one side allocates for the other, the same side frees */
  void *(*alloc)(size_t size);
  void (*free)(void *ptr);

  /* --- logging. The host adds the listener's name (and for session_log the
   * peer). `message` is (ptr, len), need not be NUL-terminated. */
  void (*log)(const wharf_instance *instance, wharf_log_level level, const char *message,
              size_t message_len);
  void (*session_log)(const wharf_session *session, wharf_log_level level, const char *message,
                      size_t message_len);

  /* --- the instance's options: the listener's `option.<key>` entries.
   * OWNERSHIP: *value (and *key) are borrowed from the host, valid until
   * on_instance_destroy returns, and NUL-terminated for convenience. */
  wharf_status (*option_get)(const wharf_instance *instance, const char *key, size_t key_len,
                             const char **value, size_t *value_len); /* WHARF_NOT_FOUND if absent */
  size_t (*option_count)(const wharf_instance *instance);
  wharf_status (*option_at)(const wharf_instance *instance, size_t index, const char **key,
                            size_t *key_len, const char **value, size_t *value_len);

  /* --- the instance's listener. OWNERSHIP of *name as for options. */
  wharf_status (*instance_name)(const wharf_instance *instance, const char **name,
                                size_t *name_len);
  wharf_socket_kind (*instance_socket_kind)(const wharf_instance *instance);

  /* --- sessions. A session handle is valid from on_session_open (or the
   * start of on_datagram / serve) until on_session_close (or the end of
   * on_datagram / serve) returns. */

  /* Send `len` bytes. EVENT style: queued whole, never blocks; the host
   * flushes it and calls on_session_writable when the queue has drained.
   * BLOCKING style: returns once all bytes are written. On a datagram
   * session every call sends one datagram to the session's peer.
   * OWNERSHIP: `data` is borrowed for the call only. */
  wharf_status (*session_write)(wharf_session *session, const void *data, size_t len);

  /* BLOCKING style only: wait for input and copy up to `capacity` bytes into
   * `buffer`; *received == 0 means the peer closed (for a datagram session:
   * the datagram has been read). WHARF_UNSUPPORTED in event style. */
  wharf_status (*session_read)(wharf_session *session, void *buffer, size_t capacity,
                               size_t *received);

  /* Ask the host to close the session once the queued output is flushed.
   * on_session_close still follows. Idempotent. */
  wharf_status (*session_close)(wharf_session *session);

  /* The peer's address as text ("203.0.113.7:5000", "[::1]:5000", a socket
   * path, or "" for an unnamed unix peer), copied into `buffer`, not
   * NUL-terminated; WHARF_BUFFER_TOO_SMALL if it does not fit. */
  wharf_status (*session_peer)(const wharf_session *session, char *buffer, size_t capacity,
                               size_t *len);

  /* Bytes queued by session_write and not yet sent (EVENT style). */
  size_t (*session_pending_output)(const wharf_session *session);

  /* --- added in 1.1 */

  /* BLOCKING style on a stream session: the connection's socket descriptor,
   * for what this table does not cover (TLS on the connection, its local
   * address, sendfile). -1 for any other session. OWNERSHIP: the host's; the
   * plugin must not close it, and must not use it after serve() returns. */
  int (*session_socket)(const wharf_session *session);

  /* --- added in 1.2 */

  /* One of the session's addresses (wharf_address) as a socket address,
   * its length in *length. WHARF_NOT_FOUND if the session has none such. */
  wharf_status (*session_address)(const wharf_session *session, wharf_address which,
                                  struct sockaddr_storage *address, socklen_t *length);

  /* BLOCKING style: who is at the other end of a connection the plugin
   * accepted itself for this session (as FTP's passive data connections),
   * judged as the listener judges its own connections. On a listener with
   * proxy_protocol, a connection from proxy_from must open with a PROXY
   * header: the host takes it off `fd` (waiting up to proxy_timeout), leaves
   * the data after it, and writes the client it names. Any other
   * connection's client is its socket peer. WHARF_INVALID: a header was due
   * and did not come whole and valid in time (the host logs why): close `fd`.
   * OWNERSHIP: `fd` stays the plugin's. */
  wharf_status (*session_accepted_client)(const wharf_session *session, int fd,
                                          struct sockaddr_storage *client, socklen_t *length);

  /* EVENT style on a stream session: run `callback(…, user)` `delay_ms` from
   * now, then every `repeat_ms` if that is not 0, until cancelled or the
   * session ends (a timer never fires after on_session_close). `release(user)`
   * (if not NULL) runs once the timer will never run again: after a one-shot
   * ran, when cancelled, or as the session ends; free `user` there.
   * *timer_id (if not NULL) names it for session_timer_cancel. At most 64 at
   * once per session (WHARF_ERROR beyond); delays of at most a day
   * (WHARF_INVALID). WHARF_UNSUPPORTED in blocking style or on a datagram
   * session; WHARF_CLOSED from on_session_close. On any failure nothing
   * runs, `release` included. */
  wharf_status (*session_timer_start)(wharf_session *session, uint64_t delay_ms, uint64_t repeat_ms,
                                      wharf_session_callback callback,
                                      wharf_dropped_callback release, void *user,
                                      uint64_t *timer_id);
  /* WHARF_NOT_FOUND if it has fired (one-shot), was cancelled, or never was. */
  wharf_status (*session_timer_cancel)(wharf_session *session, uint64_t timer_id);

  /* EVENT style on a stream session: stop (paused != 0) or resume reading.
   * While paused the host reads nothing and calls no on_session_data; the
   * peer's bytes wait in the kernel, and TCP slows the peer down. Resume from
   * on_session_writable, a timer or a posted call. WHARF_INVALID to resume a
   * session that is not paused (or pause one that is). */
  wharf_status (*session_pause_input)(wharf_session *session, int paused);

  /* EVENT style on a stream session: a new waker for it (NULL: out of
   * memory, or not an event-style stream session). OWNERSHIP: the plugin's,
   * released with waker_release, from any thread, at any time, even after
   * the session ended. */
  wharf_waker *(*session_waker)(wharf_session *session);
  /* THREAD: any. Runs `callback(…, user)` on the session's thread or loop
   * soon. If the session ends first, `dropped(user)` (if not NULL) runs
   * instead, on the thread ending it. WHARF_CLOSED: the session has already
   * ended, nothing will run and `user` stays the caller's. WHARF_ERROR: 10,000
   * posts already wait (a session that cannot keep up). */
  wharf_status (*waker_post)(wharf_waker *waker, wharf_session_callback callback,
                             wharf_dropped_callback dropped, void *user);
  void (*waker_release)(wharf_waker *waker);

  /* Why the session is ending, from on_session_close (or, in blocking style,
   * once session_read or session_write has failed); WHARF_END_NONE before.
   * A plugin built for 1.2 or later also gets WHARF_ENDED from session_read
   * when the host ended the session (a cut or idle_timeout), where older
   * ones get end of input (*received == 0) or WHARF_CLOSED. */
  wharf_end_reason (*session_end_reason)(const wharf_session *session);

  /* From on_instance_new: one series of a metric of this listener, shown in
   * `wharfctl status` and in /metrics as wharf_plugin_NAME{listener="…",…}.
   * `name`: [a-z_][a-z0-9_]*, at most 64 bytes, a counter's ending in _total;
   * `labels`: NULL or "key=value,key=value" (fixed for the series). The same
   * name, kind and labels again (say, in a reload's new instance) give the
   * same series, which goes on counting. NULL if refused (bad name or
   * labels, another kind under the same name, more than 64 series a
   * listener): the host logs why. In fork mode, session processes add to
   * the same series (the values are in memory shared with wharfd).
   * OWNERSHIP: the host's, valid until on_instance_destroy returns; `help`
   * and `labels` are copied. */
  wharf_metric *(*metric_declare)(wharf_instance *instance, wharf_metric_kind kind,
                                  const char *name, const char *help, const char *labels);
  /* THREAD: any. Adds `delta` (a counter's must not be negative:
   * WHARF_INVALID). */
  wharf_status (*metric_add)(wharf_metric *metric, int64_t delta);
  /* THREAD: any. Gauges only (WHARF_INVALID for a counter). */
  wharf_status (*metric_set)(wharf_metric *metric, int64_t value);

  /* From on_instance_new on: run `callback(instance_state, user)` `delay_ms`
   * from now, then every `repeat_ms` if that is not 0, until cancelled or the
   * instance is destroyed. THREAD: any; the callbacks run on a thread of the
   * instance's own (one for all its timers, made with the first), one at a
   * time, in every mode. So they run while session hooks may run too: guard
   * what they share, or post to a session through a waker to act on its
   * thread. Before on_instance_destroy the host waits for a running callback
   * and releases every timer: none fires afterwards. `release`, *timer_id and
   * the limits (64 at once, delays of at most a day) are as for session
   * timers. WHARF_UNSUPPORTED with mode = fork, whose sessions run in
   * processes of their own that the thread could not reach; WHARF_CLOSED
   * from on_instance_destroy. */
  wharf_status (*instance_timer_start)(wharf_instance *instance, uint64_t delay_ms,
                                       uint64_t repeat_ms, wharf_instance_callback callback,
                                       wharf_dropped_callback release, void *user,
                                       uint64_t *timer_id);
  /* WHARF_NOT_FOUND if it has fired (one-shot), was cancelled, or never was. */
  wharf_status (*instance_timer_cancel)(wharf_instance *instance, uint64_t timer_id);

  /* One of the session's addresses (wharf_address) as text, spelled as
   * session_peer spells the peer, copied into `buffer`, not NUL-terminated.
   * WHARF_NOT_FOUND if the session has none such; WHARF_BUFFER_TOO_SMALL if
   * it does not fit (*len says how much is needed). */
  wharf_status (*session_address_text)(const wharf_session *session, wharf_address which,
                                       char *buffer, size_t capacity, size_t *len);
  /* The session's transport as the config spells it: "tcp", "udp", "unix" or
   * "unix-dgram" (an address's family tells IPv4 from IPv6). OWNERSHIP: the
   * host's, NUL-terminated, valid while the plugin is loaded. */
  const char *(*session_transport)(const wharf_session *session);

  /* --- shared zones (1.2). WHERE STATE LIVES: instance state is per worker
   * process and per generation (a reload makes a new instance; each worker
   * has its own). A zone is per listener, across workers and generations:
   * shared memory that every worker of the listener maps, that a reload's
   * new instance gets again, and that outlives a worker's crash. It goes
   * when no generation declares it any more (a removed listener, a new
   * layout version) and when wharfd stops. In mode = fork, session
   * processes see it too (they inherit the mapping). */

  /* From on_instance_new: the zone `name` ([a-z0-9_], at most 64 bytes, one
   * listener's: names are global to the daemon) of `size` bytes (64 KiB to
   * 1 GiB, rounded up to a page), whose contents the plugin lays out as
   * version `layout`. The same name, size and layout as a zone that exists
   * (another worker's, an old generation's) give that zone, with *fresh = 0
   * (`fresh` may be NULL); else a new zone, all zero (root 0), with
   * *fresh = 1. A new layout version gets a new zone: old sessions go on
   * with the old one until their generation ends. To migrate, declare the
   * old layout too (the same name, from the same instance) and copy; the old
   * zone goes once no generation declares it. NULL if refused (bad name or
   * size, another listener's name, the same layout with another size while
   * in use, more than 16 zones an instance, no memory, a name another user
   * took in /dev/shm): the host logs why; a plugin usually refuses its
   * instance then. OWNERSHIP: the host's, valid until on_instance_destroy
   * returns. Each process maps the zone at an address of its own: store
   * offsets in it, never pointers. */
  wharf_zone *(*zone_declare)(wharf_instance *instance, const char *name, size_t size,
                              uint32_t layout, int *fresh);
  /* THREAD: any; for every process that maps the zone. A process-shared
   * lock, robust: if its holder died (a worker killed mid-update), the next
   * locker gets it with *recovered = 1, and the host logs it; what the dead
   * holder was changing may be half done, so check or repair it. Hold it
   * briefly: other workers wait for it. NOT RECURSIVE: a thread that holds
   * it already gets WHARF_INVALID (logged once), never a deadlock; so call no
   * wharf_kv_* function while holding it. WHARF_ERROR if it cannot be had. */
  wharf_status (*zone_lock)(wharf_zone *zone, int *recovered);
  /* WHARF_INVALID if this thread does not hold it. */
  wharf_status (*zone_unlock)(wharf_zone *zone);
  /* With the lock held: `size` bytes in the zone, 16-aligned; their offset,
   * or 0 when the zone has no room (an error the plugin handles, never a
   * crash). Blocks are power-of-two sized and never merged. */
  uint64_t (*zone_alloc)(wharf_zone *zone, size_t size);
  /* With the lock held. WHARF_INVALID if `offset` is not a block in use. */
  wharf_status (*zone_free)(wharf_zone *zone, uint64_t offset);
  /* The address of `offset` in this process (NULL outside the zone's heap). */
  void *(*zone_at)(wharf_zone *zone, uint64_t offset);
  /* The zone's root: one offset the plugin keeps its entry point in (0 in a
   * fresh zone). Read and write it with the lock held. */
  uint64_t *(*zone_root)(wharf_zone *zone);

  /* --- added in 1.3 */

  /* Bytes the plugin moved itself for this session since its last call,
   * `received` from its peers and `sent` to them, on `path`. The host counts
   * them as the session's own as they flow (each second on a long session),
   * in the listener's byte counters and the session's access log line. On
   * TCP the host also reads the session socket's totals from the kernel at
   * the end, which bytes reported on WHARF_BYTES_SESSION_SOCKET are part of:
   * nothing is counted twice. THREAD: the session's (a blocking session's
   * serve(), an event session's hooks). WHARF_INVALID for another `path` or
   * a count over 2^40 in one call, WHARF_CLOSED for an ended session. */
  wharf_status (*session_count_bytes)(wharf_session *session, wharf_bytes_path path,
                                      uint64_t received, uint64_t sent);

  /* --- added in 1.4 */

  /* What the session's TLS agreed on, as text copied into `buffer` (not
   * NUL-terminated), its length in *len. WHARF_NOT_FOUND: the session is not
   * over TLS (its listener has tls = off), or the field has no value (no SNI
   * name sent, no ALPN agreed, no client certificate);
   * WHARF_BUFFER_TOO_SMALL: *len is the capacity needed; WHARF_INVALID: an
   * unknown field; WHARF_CLOSED: an ended session. THREAD: the session's. */
  wharf_status (*session_tls)(const wharf_session *session, wharf_tls_field field, char *buffer,
                              size_t capacity, size_t *len);

  /* --- added in 1.6: live migration of BLOCKING-style sessions (`migrate =
   * on` in the sync, thread and pool modes). serve() keeps its session on
   * its own stack, so the host cannot take it at any moment as it takes an
   * event-style one: it asks, and the plugin hands the session over at a
   * point of its choosing, between requests. */

  /* A descriptor that turns readable (POLLIN) when a reload asks this
   * session to move to newer plugin code; poll it with your own waits. It
   * stays readable until session_hand_over is called or the host stops
   * asking (migrate_timeout): poll it only where you would hand over (a
   * busy session that kept it in its poll set would spin). -1 where sessions do not move (event
   * style, fork mode). OWNERSHIP: the host's: never read, write or close it; valid until serve (or
   * resume) returns. THREAD: the session's. */
  int (*session_handover_fd)(const wharf_session *session);
  /* Offers the session to the newer code with `state`: what session_export
   * would write (no pointers), everything the plugin holds of the session
   * that the socket does not (bytes it read and has not acted on, a login,
   * a current folder). Call it at a point where nothing is in flight: no
   * reply half-written, no connection of the plugin's own open for it. The
   * newer plugin's session_import runs on this thread, now. WHARF_OK: it
   * took the session: return from serve() at once without touching the
   * session or its socket again (session_end_reason says
   * WHARF_END_MIGRATED); its `resume` serves it on, on the same connection.
   * WHARF_UNSUPPORTED: the session stays yours, unchanged; go on serving it
   * (nobody asked, the asking ended, the newer code refused the state or
   * cannot resume, or the session is over TLS and this move crosses
   * processes); the descriptor is no longer readable. OWNERSHIP: `state` is
   * borrowed for the call; at most 1 MiB (WHARF_INVALID above; a move to
   * another worker takes at most 256 KiB: a bigger state stays).
   * THREAD: the session's (the one running its serve or resume); from any
   * other, WHARF_INVALID and nothing changes. */
  wharf_status (*session_hand_over)(wharf_session *session, const uint8_t *state, size_t len);
} wharf_host_api;

/* Whether the host's table has function `fn` (i.e. the host is new enough). */
#define WHARF_HOST_HAS(api, fn)                                                               \
  ((api) != NULL && offsetof(wharf_host_api, fn) + sizeof((api)->fn) <= (api)->struct_size && \
   (api)->fn != NULL)

/* What the host hands to wharf_plugin_entry. OWNERSHIP: host-owned, valid
 * until on_plugin_unload returns (or, for a library never unloaded, forever). */
typedef struct wharf_host {
  wharf_abi_header header;  /* WHARF_HOST_MAGIC */
  const char *host_version; /* e.g. "wharfd 0.1.0" */
  const wharf_host_api *api;
} wharf_host;

/* ------------------------------------------------------------------------ */
/* Hooks the plugin implements                                                */
/* ------------------------------------------------------------------------ */

/*
 * The plugin descriptor, returned by wharf_plugin_entry. OWNERSHIP: owned by
 * the plugin and must stay valid and unchanged until on_plugin_unload returns
 * (a `static const` object is the usual choice). The host copies the fields
 * that header.struct_size covers into a zeroed struct of its own.
 *
 * Hooks that may fail return a wharf_status and may write a reason, as a
 * NUL-terminated string, into `error` (capacity `error_size`); the host logs it.
 */
typedef struct wharf_plugin {
  wharf_abi_header header; /* WHARF_PLUGIN_MAGIC */
  const char *name;        /* mandatory: short name, e.g. "echo" */
  const char *version;     /* mandatory: the plugin's own version, e.g. "1.2.0" */
  const char *description; /* optional: one line */
  uint32_t capabilities;   /* WHARF_CAP_* */
  uint32_t reserved;

  /* --- plugin level. THREAD: the host's main thread. */

  /* After a successful handshake, before any instance. Optional. */
  wharf_status (*on_plugin_load)(const wharf_host *host, char *error, size_t error_size);
  /* Before dlclose. Must join every thread the plugin started. Optional. */
  void (*on_plugin_unload)(void);

  /* --- instance level. THREAD: the host's main thread. */

  /* A listener that names this plugin is being set up. Read and check the
   * options here: a failure refuses the listener and names `error`.
   * OWNERSHIP: *instance_state is the plugin's, freed in on_instance_destroy.
   * In mode = fork it runs in the worker and again in the listener's fork
   * helper, whose instance the session processes inherit: start no thread
   * there (only the forking thread exists in a child). Optional (the state
   * is then NULL). */
  wharf_status (*on_instance_new)(wharf_instance *instance, void **instance_state, char *error,
                                  size_t error_size);
  /* No session of this instance remains. Optional. */
  void (*on_instance_destroy)(void *instance_state);

  /* --- EVENT style. THREAD: one thread at a time per session; sessions of
   * one instance run concurrently only if WHARF_CAP_CONCURRENT is declared. */

  /* A stream connection was accepted. *session_state starts NULL. A failure
   * closes the connection at once (on_session_close is not called). */
  wharf_status (*on_session_open)(void *instance_state, wharf_session *session,
                                  void **session_state);
  /* Bytes arrived. OWNERSHIP: `data` is borrowed for the call only. A
   * failure closes the session. */
  wharf_status (*on_session_data)(void *instance_state, void *session_state, wharf_session *session,
                                  const uint8_t *data, size_t len);
  /* Everything the plugin wrote has been sent (handed to the kernel). Called
   * once after any hook in which the plugin wrote, in every mode, and not
   * after a hook that wrote nothing: the place to write the next part of a
   * long reply (writing here earns another call). Optional. */
  wharf_status (*on_session_writable)(void *instance_state, void *session_state,
                                      wharf_session *session);
  /* The session ends (peer closed, session_close, failure, shutdown). Free
   * session_state here. Optional. */
  void (*on_session_close)(void *instance_state, void *session_state, wharf_session *session);
  /* A datagram arrived on a datagram listener; reply with session_write.
   * OWNERSHIP: `data` and `session` are borrowed for the call only. */
  wharf_status (*on_datagram)(void *instance_state, wharf_session *session, const uint8_t *data,
                              size_t len);

  /* --- BLOCKING style. THREAD: the session's own thread or process. */

  /* Serve one session to its end with session_read / session_write. On a
   * datagram listener, session_read yields the datagram, then end of input. */
  wharf_status (*serve)(void *instance_state, wharf_session *session);

  /* --- added in 1.5: live session migration. EVENT style on a reactor
   * listener with `migrate = on`. After a reload, the host moves each open
   * session of an older generation onto the new one, if the old plugin has
   * session_export and the new one session_import, and the session is
   * QUIESCENT: opened, no hook running, no timer started, no waker held by
   * the plugin (waker_release'd: nothing outstanding), no post queued,
   * nothing queued for output, on_session_writable not owed, input not
   * paused. A busy session is tried again until migrate_timeout, then left
   * on its generation (as without migration). The session keeps its handle,
   * peer, socket (and TLS), byte counts and admission; its state is what the
   * plugin carries. Hosts before 1.5 never call these. 1.6 carries
   * BLOCKING-style sessions too: session_hand_over and resume. */

  /* THREAD: the session's. Writes everything the plugin needs to go on with
   * this session (a partial request, a login, counters: not pointers) into
   * `buffer` and its length into *len. WHARF_BUFFER_TOO_SMALL with *len set
   * to the size needed: called again with at least that much (at most
   * 1 MiB). Any other failure: the session is not moved (refused). It cannot
   * change the session, which may yet stay (the new code may refuse it):
   * session_write, session_pause_input and session_close answer
   * WHARF_UNSUPPORTED, and no timer or waker can be had. After a successful
   * import, the host calls on_session_close on the OLD state with
   * session_end_reason = WHARF_END_MIGRATED: free the state there; the
   * session is frozen there too. Optional. */
  wharf_status (*session_export)(void *instance_state, void *session_state, wharf_session *session,
                                 uint8_t *buffer, size_t capacity, size_t *len);
  /* THREAD: the session's. Rebuilds the session from what session_export
   * (or, BLOCKING style, session_hand_over) wrote in the plugin whose descriptor's `version` is
   * `from_version` (this plugin's own or an older one's: convert it, or refuse what you cannot
   * read). OWNERSHIP: `data` is borrowed for the call. On WHARF_OK the
   * session is this instance's from now on, with *session_state (BLOCKING
   * style: what resume gets; it writes, it does not read, here). On a
   * failure it stays on its old generation, and what this call began is
   * undone: its timers released, its wakers find a closed mailbox, a pause
   * or a close withdrawn, the bytes it wrote dropped (they are sent only once
   * the session is this instance's; BLOCKING style: at most 1 MiB, a write
   * past it answers WHARF_BUFFER_TOO_SMALL). Optional. */
  wharf_status (*session_import)(void *instance_state, wharf_session *session,
                                 const char *from_version, const uint8_t *data, size_t len,
                                 void **session_state);

  /* --- added in 1.6: live migration, BLOCKING style (session_hand_over).
   * session_import (above) rebuilds the state from what the older code
   * handed over; this serves the session on from there. */

  /* THREAD: the session's own. Serves to its end, as serve() does, a session
   * session_import took from older code, starting from the *session_state it
   * made: free that here. Rarely (a new worker that could not confirm the
   * move to the old one) the session has already ended for this code:
   * session_end_reason says WHARF_END_MIGRATED, reads and writes answer
   * WHARF_ENDED and session_socket -1; free the state and return. Optional:
   * without it no blocking-style session moves onto this plugin. */
  wharf_status (*resume)(void *instance_state, void *session_state, wharf_session *session);
} wharf_plugin;

/* The entry point. The plugin may check host->header (and keep `host` for
 * later calls); it returns its descriptor, or NULL to refuse to load. */
typedef const wharf_plugin *(*wharf_plugin_entry_fn)(const wharf_host *host);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WHARF_WHARF_H */
