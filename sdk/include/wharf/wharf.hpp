// wharf.hpp — a header-only C++20 wrapper over wharf.h.
//
// Write one class per listener instance; the wrapper generates the C hooks.
// Every generated hook is noexcept: an exception thrown by your code is
// caught, logged with listener and peer, and fails that session (or, from the
// constructor, refuses the listener) — it never crosses into the host.
//
//   class Greeter {
//    public:
//     explicit Greeter(wharf::Instance &instance)            // required; may throw
//         : greeting_(instance.option("greeting").value_or("hello")) {}
//
//     struct Session {                                       // event-style streams
//       Session(Greeter &listener, wharf::Session &session); // optional state per connection
//       void onData(wharf::Session &session, wharf::Bytes data);
//       void onWritable(wharf::Session &session);            // optional
//       void onClose(wharf::Session &session, wharf_end_reason reason);  // optional
//       // 1.5, optional: live migration (below)
//       std::optional<std::vector<uint8_t>> exportState(wharf::Session &session) const;
//     };
//     std::unique_ptr<Session> importSession(wharf::Session &session,  // 1.5, optional
//                                            std::string_view fromVersion, wharf::Bytes data);
//     void onDatagram(wharf::Session &session, wharf::Bytes data);  // event-style datagrams
//     void serve(wharf::Session &session);                   // blocking style
//     // 1.6, optional: live migration of blocking-style sessions (below)
//     struct Carried;                                        // what resume starts from
//     std::unique_ptr<Carried> importCarried(wharf::Session &session,
//                                            std::string_view fromVersion, wharf::Bytes data);
//     void resume(wharf::Session &session, std::unique_ptr<Carried> carried);
//   };
//   WHARF_PLUGIN(Greeter, "greeter", "1.0.0", "says hello",
//                WHARF_CAP_EVENT | WHARF_CAP_STREAM | WHARF_CAP_CONCURRENT)
//
// LIVE MIGRATION (1.5, wharf.h's session_export and session_import; a reactor
// listener with `migrate = on`). A reload moves a quiescent session to the new
// generation's listener object: the old code's `exportState` gives the bytes
// the new code needs to go on (never pointers; put a format number in them),
// or nullopt to keep the session where it is; it is const, as the session may
// yet stay (the new code can refuse it), and may be called twice for one move
// (a state over 4 KiB: the host asks again with room), so give the same bytes.
// The new code's `importSession` rebuilds the Session object from them, knowing
// `fromVersion` (the descriptor version of the code that wrote them), or
// returns nullptr to refuse: the session then stays on its old code,
// untouched (write nothing before you decide). An exception from either is
// logged and refuses the move; the session goes on where it was. Once moved,
// the old Session object is destroyed WITHOUT its onClose: the session did
// not end, and the old code may write, schedule or close nothing (free what
// it holds in the destructor). THREAD: both on the session's thread, never
// during one of its hooks; importSession, like the Session constructor, at the
// same time as other sessions' hooks if the plugin is WHARF_CAP_CONCURRENT.
// Each hook is generated only if the class has it: a release that only
// exports, or only imports, is a valid step.
//
// BLOCKING STYLE (1.6, `migrate = on` in the sync, thread and pool modes).
// serve() polls `session.handoverFd()` with its own waits; when it turns
// readable and the session is between requests, it calls
// `session.handOver(bytes)`. True: the newer code took the session: return
// from serve() at once, touching neither the session nor its socket. False:
// go on serving it (the fd is quiet again). In the newer code,
// `importCarried` rebuilds what it needs from the bytes (nullptr refuses; it
// may write, never read), and `resume` serves the session on from there, as
// serve() would have. A class carries sessions of one style only.
//
// Build with -fno-gnu-unique (wharf_add_plugin() does): the wrapper keeps the
// host table in an inline variable, which GCC would otherwise mark
// STB_GNU_UNIQUE, making dlclose a no-op.
#ifndef WHARF_WHARF_HPP
#define WHARF_WHARF_HPP

#include <wharf/wharf.h>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace wharf {

using Bytes = std::span<const uint8_t>;

namespace detail {
inline const wharf_host_api *api = nullptr;  // set once by the entry point
}  // namespace detail

// The host's C function table, for what the wrapper does not wrap
// (wharf_kv.h, say). Valid from the listener class's constructor on.
inline const wharf_host_api *hostApi() {
  return detail::api;
}

// A failure the wrapper reports as a hook status (and message).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A plugin metric (1.2): a counter or gauge series of the listener. A plain
// handle, valid for the instance's life; add/set from any thread.
class Metric {
 public:
  explicit Metric(wharf_metric *metric) : metric_(metric) {}
  void add(int64_t delta) const { detail::api->metric_add(metric_, delta); }
  void set(int64_t value) const { detail::api->metric_set(metric_, value); }

 private:
  wharf_metric *metric_;
};

// 1.2: a shared zone, from Instance::zone(): memory of the listener that
// every worker maps and a reload's new instance gets again (zone_declare in
// wharf.h says what lives where). Each process maps it at an address of its
// own: keep offsets in it, never pointers. A plain handle, valid for the
// instance's life. THREAD: any, and several at once (a Lock serialises them,
// across workers too).
class Zone {
 public:
  Zone(wharf_zone *zone, bool fresh) : zone_(zone), fresh_(fresh) {}
  wharf_zone *handle() const { return zone_; }
  // Whether the host made it for this declaration: all zero, root() 0.
  bool fresh() const { return fresh_; }

  // The zone's lock, held for a scope; other workers wait for it, so keep
  // the scope short. Throws Error if it cannot be had.
  class Lock {
   public:
    explicit Lock(const Zone &zone) : zone_(zone.zone_) {
      int recovered = 0;
      if (detail::api->zone_lock(zone_, &recovered) != WHARF_OK)
        throw Error("the zone's lock cannot be had");
      recovered_ = recovered != 0;
    }
    ~Lock() { detail::api->zone_unlock(zone_); }
    Lock(const Lock &) = delete;
    Lock &operator=(const Lock &) = delete;
    // Its last holder died holding it (a worker killed mid-update): what
    // that holder was changing may be half done, so check or repair it.
    bool recovered() const { return recovered_; }

   private:
    wharf_zone *zone_;
    bool recovered_ = false;
  };

  // The rest with a Lock held. `size` bytes, 16-aligned: their offset, or 0
  // when the zone has no room.
  uint64_t allocate(size_t size) const { return detail::api->zone_alloc(zone_, size); }
  // Throws Error if `offset` is not a block in use.
  void free(uint64_t offset) const {
    if (detail::api->zone_free(zone_, offset) != WHARF_OK)
      throw Error("offset " + std::to_string(offset) + " is not a block of the zone");
  }
  // What lives at `offset`, in this process (nullptr outside the zone).
  template <typename T>
  T *at(uint64_t offset) const {
    return static_cast<T *>(detail::api->zone_at(zone_, offset));
  }
  // The one offset the plugin keeps its entry point in (0 in a fresh zone).
  uint64_t &root() const { return *detail::api->zone_root(zone_); }

 private:
  wharf_zone *zone_;
  bool fresh_;
};

// 1.2: a running timer of a session or an instance, cancelled when this
// handle is destroyed unless detached. Keep a session's in its Session state
// (it must not outlive the session) and an instance's in the listener object.
// THREAD: a session's Timer is cancelled, detached, moved and destroyed on
// that session's thread (its hooks, its timers' and Wakers' tasks); an
// instance's, from any thread. A Timer object is not itself synchronised:
// one thread at a time uses it.
class Timer {
 public:
  using Cancel = wharf_status (*)(void *owner, uint64_t id);
  Timer() = default;
  Timer(Cancel cancel, void *owner, uint64_t id) : cancel_(cancel), owner_(owner), id_(id) {}
  Timer(Timer &&other) noexcept
      : cancel_(other.cancel_), owner_(other.owner_), id_(std::exchange(other.id_, 0)) {}
  Timer &operator=(Timer other) noexcept {
    std::swap(cancel_, other.cancel_);
    std::swap(owner_, other.owner_);
    std::swap(id_, other.id_);
    return *this;
  }
  ~Timer() { cancel(); }

  // Stops it; from its own task too (the task is freed once it returns).
  // False if it had ended already (a one-shot that ran), or was detached.
  bool cancel() noexcept {
    if (id_ == 0) return false;
    return cancel_(owner_, std::exchange(id_, 0)) == WHARF_OK;
  }
  // Lets it run on by itself, until it ends or its session or instance does.
  void detach() noexcept { id_ = 0; }

 private:
  Cancel cancel_ = nullptr;
  void *owner_ = nullptr;
  uint64_t id_ = 0;
};

// The host's view of one listener instance: a handle, which the listener
// object may keep for its own life. THREAD: as wharf.h's function table
// says, from a thread that runs one of the plugin's hooks (or an instance
// timer's task); startTimer() from any thread; counter(), gauge() and zone()
// in the listener class's constructor.
class Instance {
 public:
  explicit Instance(wharf_instance *handle) : handle_(handle) {}

  std::optional<std::string_view> option(std::string_view key) const {
    const char *value = nullptr;
    size_t length = 0;
    if (detail::api->option_get(handle_, key.data(), key.size(), &value, &length) != WHARF_OK)
      return std::nullopt;
    return std::string_view(value, length);
  }
  size_t optionCount() const { return detail::api->option_count(handle_); }
  std::pair<std::string_view, std::string_view> optionAt(size_t index) const {
    const char *key = nullptr, *value = nullptr;
    size_t keyLength = 0, valueLength = 0;
    if (detail::api->option_at(handle_, index, &key, &keyLength, &value, &valueLength) != WHARF_OK)
      throw Error("option index out of range");
    return {std::string_view(key, keyLength), std::string_view(value, valueLength)};
  }
  std::string_view name() const {
    const char *name = nullptr;
    size_t length = 0;
    detail::api->instance_name(handle_, &name, &length);
    return std::string_view(name, length);
  }
  wharf_socket_kind socketKind() const { return detail::api->instance_socket_kind(handle_); }
  wharf_instance *handle() const { return handle_; }
  void log(wharf_log_level level, std::string_view message) const {
    detail::api->log(handle_, level, message.data(), message.size());
  }
  // 1.2, in the listener class's constructor: declares a metric series.
  // Throws Error if the host refuses (it logs why).
  Metric counter(const std::string &name, const std::string &help,
                 const std::string &labels = "") const {
    return declare(WHARF_METRIC_COUNTER, name, help, labels);
  }
  Metric gauge(const std::string &name, const std::string &help,
               const std::string &labels = "") const {
    return declare(WHARF_METRIC_GAUGE, name, help, labels);
  }
  // 1.2, in the listener class's constructor: the listener's zone `name` of
  // `size` bytes, laid out as version `layout` (zone_declare in wharf.h).
  // Throws Error if the host refuses (it logs why).
  Zone zone(const std::string &name, size_t size, uint32_t layout) const {
    int fresh = 0;
    wharf_zone *zone = detail::api->zone_declare(handle_, name.c_str(), size, layout, &fresh);
    if (zone == nullptr) throw Error("zone '" + name + "' refused");
    return Zone(zone, fresh != 0);
  }
  // 1.2: runs `task()` after `delay`, then every `repeat` unless it is zero,
  // on the instance's own timer thread (at the same time as session hooks may
  // run), until cancelled or the instance is destroyed. An exception is
  // logged and ends the timer. Throws Error if the host refuses.
  template <typename Task>
  [[nodiscard]] Timer startTimer(std::chrono::milliseconds delay, std::chrono::milliseconds repeat,
                                 Task task);

 private:
  Metric declare(wharf_metric_kind kind, const std::string &name, const std::string &help,
                 const std::string &labels) const {
    wharf_metric *metric = detail::api->metric_declare(handle_, kind, name.c_str(), help.c_str(),
                                                       labels.empty() ? nullptr : labels.c_str());
    if (metric == nullptr) throw Error("metric '" + name + "' refused");
    return Metric(metric);
  }

  wharf_instance *handle_;
};

// The host's view of one session. Borrowed for the duration of a hook.
// THREAD: the thread running that hook (or a timer's or Waker's task) only;
// from another thread, post through a Waker.
class Session {
 public:
  explicit Session(wharf_session *handle) : handle_(handle) {}

  // False if the session is closed (the peer left, or it was closed): a
  // hang-up is news, not an error, and nothing is logged. Throws Error if the
  // host refuses the call (a bad argument).
  bool write(std::string_view data) { return write(data.data(), data.size()); }
  bool write(Bytes data) { return write(data.data(), data.size()); }
  bool write(const void *data, size_t length) {
    wharf_status status = detail::api->session_write(handle_, data, length);
    if (status == WHARF_CLOSED) return false;
    if (status != WHARF_OK) throw Error("write refused by the host");
    return true;
  }
  // Blocking style only. Returns 0 at end of input.
  size_t read(void *buffer, size_t capacity) {
    size_t received = 0;
    wharf_status status = detail::api->session_read(handle_, buffer, capacity, &received);
    if (status == WHARF_ENDED) return 0;  // the host ended it: endReason() says why
    if (status != WHARF_OK) throw Error("read failed: session closed");
    return received;
  }
  void close() { detail::api->session_close(handle_); }
  // 1.2: why the session is ending (WHARF_END_*), from on_session_close or
  // after a read returned 0; WHARF_END_NONE while it goes on.
  wharf_end_reason endReason() const { return detail::api->session_end_reason(handle_); }
  std::string peer() const {
    char buffer[256];
    size_t length = 0;
    if (detail::api->session_peer(handle_, buffer, sizeof buffer, &length) != WHARF_OK) return {};
    return std::string(buffer, length);
  }
  size_t pendingOutput() const { return detail::api->session_pending_output(handle_); }
  // Blocking-style streams on a 1.1+ host: the connection's descriptor, for
  // TLS, its local address or sendfile. -1 otherwise. Never close it.
  int socket() const {
    return WHARF_HOST_HAS(detail::api, session_socket) ? detail::api->session_socket(handle_) : -1;
  }
  // 1.2+: one of the session's addresses (WHARF_ADDRESS_*); nullopt if it has
  // none such, or the host is older.
  std::optional<sockaddr_storage> address(wharf_address which) const {
    sockaddr_storage found{};
    if (!WHARF_HOST_HAS(detail::api, session_address) ||
        detail::api->session_address(handle_, which, &found, nullptr) != WHARF_OK)
      return std::nullopt;
    return found;
  }
  // 1.2+, blocking style: the client of a connection the plugin accepted for
  // this session (behind a balancer, from its PROXY header). nullopt: close
  // `fd` (the host logged why), as on a host older than 1.2.
  std::optional<sockaddr_storage> acceptedClient(int fd) const {
    sockaddr_storage client{};
    if (!WHARF_HOST_HAS(detail::api, session_accepted_client) ||
        detail::api->session_accepted_client(handle_, fd, &client, nullptr) != WHARF_OK)
      return std::nullopt;
    return client;
  }
  // 1.2+: the session's transport ("tcp", "udp", "unix", "unix-dgram"); empty
  // on an older host.
  std::string_view transport() const {
    return WHARF_HOST_HAS(detail::api, session_transport) ? detail::api->session_transport(handle_)
                                                          : std::string_view();
  }
  // 1.3+: bytes the plugin moved itself for this session, on `path` (its
  // socket past the host, or a connection of its own), counted by the host as
  // the session's. False on an older host, or once the session has ended.
  bool countBytes(wharf_bytes_path path, uint64_t received, uint64_t sent) {
    return WHARF_HOST_HAS(detail::api, session_count_bytes) &&
           detail::api->session_count_bytes(handle_, path, received, sent) == WHARF_OK;
  }
  // 1.2+: one of the session's addresses as text; empty if it has none such.
  std::string addressText(wharf_address which) const {
    char buffer[256];
    size_t length = 0;
    if (!WHARF_HOST_HAS(detail::api, session_address_text) ||
        detail::api->session_address_text(handle_, which, buffer, sizeof buffer, &length) !=
            WHARF_OK)
      return {};
    return std::string(buffer, length);
  }
  // 1.4+: what the session's TLS agreed on (WHARF_TLS_*); nullopt if the
  // session is not over TLS, the field has no value, or the host is older.
  std::optional<std::string> tls(wharf_tls_field field) const {
    if (!WHARF_HOST_HAS(detail::api, session_tls)) return std::nullopt;
    std::string text(256, '\0');
    size_t length = 0;
    wharf_status status =
        detail::api->session_tls(handle_, field, text.data(), text.size(), &length);
    if (status == WHARF_BUFFER_TOO_SMALL) {
      text.resize(length);
      status = detail::api->session_tls(handle_, field, text.data(), text.size(), &length);
    }
    if (status != WHARF_OK) return std::nullopt;
    text.resize(length);
    return text;
  }
  // 1.6, blocking style with `migrate = on`: a descriptor that turns
  // readable when a reload asks this session to move to newer code; -1 where
  // sessions do not move (or on an older host). Never read or close it.
  int handoverFd() const {
    return WHARF_HOST_HAS(detail::api, session_handover_fd)
               ? detail::api->session_handover_fd(handle_)
               : -1;
  }
  // 1.6, blocking style: offers the session to the newer code with `state`.
  // True: it was taken; return from serve() without touching the session.
  bool handOver(Bytes state) {
    return WHARF_HOST_HAS(detail::api, session_hand_over) &&
           detail::api->session_hand_over(handle_, state.data(), state.size()) == WHARF_OK;
  }
  // 1.2, event style on a stream session: runs `task(session)` after `delay`,
  // then every `repeat` unless it is zero, on the session's thread, until
  // cancelled or the session ends; an exception closes the session. Throws
  // Error if the host refuses. A task written as
  // [](wharf::Session &, MySession &me) {} gets the listener's session object
  // too (MySession must be that class).
  template <typename Task>
  [[nodiscard]] Timer startTimer(std::chrono::milliseconds delay, std::chrono::milliseconds repeat,
                                 Task task);
  // 1.2, event style: stops or resumes reading. Throws Error if refused.
  void pauseInput(bool paused) {
    if (detail::api->session_pause_input(handle_, paused ? 1 : 0) != WHARF_OK)
      throw Error(paused ? "cannot pause input" : "cannot resume input");
  }
  // 1.2, event style: a Waker, to post to this session from any thread.
  class Waker waker();
  void log(wharf_log_level level, std::string_view message) const {
    detail::api->session_log(handle_, level, message.data(), message.size());
  }
  wharf_session *handle() const { return handle_; }

 private:
  wharf_session *handle_;
};

namespace detail {

inline void copyMessage(const char *text, char *error, size_t errorSize) {
  if (errorSize == 0) return;
  size_t length = std::char_traits<char>::length(text);
  if (length >= errorSize) length = errorSize - 1;
  std::char_traits<char>::copy(error, text, length);
  error[length] = '\0';
}

// Runs a hook body; an exception becomes WHARF_ERROR and a log line. A body
// that returns a status returns it as the hook's.
template <typename Body>
wharf_status guard(wharf_session *session, Body &&body) noexcept {
  try {
    if constexpr (std::is_same_v<decltype(body()), wharf_status>) {
      return body();
    } else {
      body();
      return WHARF_OK;
    }
  } catch (const std::exception &error) {
    std::string message = std::string("plugin error: ") + error.what();
    api->session_log(session, WHARF_LOG_ERROR, message.data(), message.size());
  } catch (...) {
    static constexpr std::string_view message = "plugin error: unknown exception";
    api->session_log(session, WHARF_LOG_ERROR, message.data(), message.size());
  }
  return WHARF_ERROR;
}

// A task for a session's thread, from a timer or a Waker: on the heap, freed
// by the host's release (or dropped) callback. It gets the session and the
// plugin's state of it (the listener class's Session object).
using SessionTask = std::function<void(Session &, void *state)>;

// The type of the second parameter of a task's call operator: the plugin's
// session class, for a task written as [](wharf::Session &, MySession &) {}.
template <typename Call>
struct StateParameter;
template <typename Lambda, typename Result, typename First, typename Second>
struct StateParameter<Result (Lambda::*)(First, Second) const> {
  using type = std::remove_reference_t<Second>;
};
template <typename Lambda, typename Result, typename First, typename Second>
struct StateParameter<Result (Lambda::*)(First, Second)> {
  using type = std::remove_reference_t<Second>;
};

// `task(session)`, or `task(session, state)` with the state as the type the
// task asks for.
template <typename Task>
SessionTask *makeSessionTask(Task task) {
  if constexpr (std::is_invocable_v<Task &, Session &>) {
    return new SessionTask(
        [task = std::move(task)](Session &session, void *) mutable { task(session); });
  } else {
    using State = typename StateParameter<decltype(&Task::operator())>::type;
    return new SessionTask([task = std::move(task)](Session &session, void *state) mutable {
      task(session, *static_cast<State *>(state));
    });
  }
}

inline wharf_status runTask(void *, void *state, wharf_session *handle, void *user) noexcept {
  return guard(handle, [&] {
    Session session(handle);
    (*static_cast<SessionTask *>(user))(session, state);
  });
}
inline wharf_status runTaskOnce(void *instance, void *state, wharf_session *handle,
                                void *user) noexcept {
  wharf_status status = runTask(instance, state, handle, user);
  delete static_cast<SessionTask *>(user);
  return status;
}
inline void deleteTask(void *user) noexcept {
  delete static_cast<SessionTask *>(user);
}

// A posted task with what to run if it is dropped instead (the session ended
// first).
struct PostedTask {
  SessionTask *task;
  std::function<void()> dropped;
  ~PostedTask() { delete task; }
};
inline wharf_status runPostedOnce(void *instance, void *state, wharf_session *handle,
                                  void *user) noexcept {
  auto *posted = static_cast<PostedTask *>(user);
  wharf_status status = runTask(instance, state, handle, posted->task);
  delete posted;
  return status;
}
inline void dropPosted(void *user) noexcept {
  auto *posted = static_cast<PostedTask *>(user);
  try {
    posted->dropped();
  } catch (...) {  // nothing to log through: the session has gone
  }
  delete posted;
}

// An instance timer's task, with the instance to log its failure through.
struct InstanceTask {
  wharf_instance *instance;
  std::function<void()> task;
};

inline wharf_status runInstanceTask(void *, void *user) noexcept {
  auto *scheduled = static_cast<InstanceTask *>(user);
  std::string message = "plugin error in an instance timer: ";
  try {
    scheduled->task();
    return WHARF_OK;
  } catch (const std::exception &error) {
    message += error.what();
  } catch (...) {
    message += "unknown exception";
  }
  api->log(scheduled->instance, WHARF_LOG_ERROR, message.data(), message.size());
  return WHARF_ERROR;
}
inline void deleteInstanceTask(void *user) noexcept {
  delete static_cast<InstanceTask *>(user);
}

// Plugin-wide hooks a listener class may have as static members: once the
// library is loaded (before any instance; throw to refuse it) and before it
// is unloaded (join your threads there).
template <typename L>
concept HasPluginLoad = requires {
  L::onPluginLoad();
};
template <typename L>
concept HasPluginUnload = requires {
  L::onPluginUnload();
};

template <typename L>
concept HasStreamSession = requires {
  typename L::Session;
};
template <typename L>
concept HasDatagram = requires(L &listener, wharf::Session &session, Bytes data) {
  listener.onDatagram(session, data);
};
template <typename L>
concept HasServe = requires(L &listener, wharf::Session &session) {
  listener.serve(session);
};
template <typename S>
concept HasWritable = requires(S &state, wharf::Session &session) {
  state.onWritable(session);
};
template <typename S>
concept HasClose = requires(S &state, wharf::Session &session, wharf_end_reason reason) {
  state.onClose(session, reason);
};
template <typename S>
concept HasExport = requires(S &state, wharf::Session &session) {
  state.exportState(session);
};
template <typename L>
concept HasImport = requires(L &listener, wharf::Session &session, std::string_view fromVersion,
                             Bytes data) {
  listener.importSession(session, fromVersion, data);
};
template <typename L>
concept HasResume = requires {
  typename L::Carried;
};
// What HasExport and HasImport must be, checked where each hook is made so
// that a slip is a compile error, not a plugin that silently never migrates.
template <typename S>
concept ExportsState = requires(const S &state, wharf::Session &session) {
  { state.exportState(session) } -> std::convertible_to<std::optional<std::vector<uint8_t>>>;
};
template <typename L>
concept ImportsSession = requires(L &listener, wharf::Session &session,
                                  std::string_view fromVersion, Bytes data) {
  {
    listener.importSession(session, fromVersion, data)
    } -> std::convertible_to<std::unique_ptr<typename L::Session>>;
};

// Generates the C hooks for listener class L.
template <typename L>
struct Adapter {
  static wharf_status instanceNew(wharf_instance *handle, void **state, char *error,
                                  size_t errorSize) noexcept {
    try {
      Instance instance(handle);
      *state = new L(instance);
      return WHARF_OK;
    } catch (const std::exception &failure) {
      copyMessage(failure.what(), error, errorSize);
    } catch (...) {
      copyMessage("unknown exception", error, errorSize);
    }
    return WHARF_ERROR;
  }
  static void instanceDestroy(void *state) noexcept { delete static_cast<L *>(state); }
  static wharf_status pluginLoad(const wharf_host *, char *error, size_t size) noexcept {
    try {
      L::onPluginLoad();
      return WHARF_OK;
    } catch (const std::exception &failure) {
      std::snprintf(error, size, "%s", failure.what());
    } catch (...) {
      std::snprintf(error, size, "unknown exception");
    }
    return WHARF_ERROR;
  }
  static void pluginUnload() noexcept {
    try {
      L::onPluginUnload();
    } catch (...) {  // nothing to log through, and the library goes either way
    }
  }

  static wharf_status sessionOpen(void *instance, wharf_session *handle, void **state) noexcept {
    return guard(handle, [&] {
      Session session(handle);
      *state = new typename L::Session(*static_cast<L *>(instance), session);
    });
  }
  static wharf_status sessionData(void *, void *state, wharf_session *handle, const uint8_t *data,
                                  size_t length) noexcept {
    return guard(handle, [&] {
      Session session(handle);
      static_cast<typename L::Session *>(state)->onData(session, Bytes(data, length));
    });
  }
  static wharf_status sessionWritable(void *, void *state, wharf_session *handle) noexcept {
    return guard(handle, [&] {
      Session session(handle);
      static_cast<typename L::Session *>(state)->onWritable(session);
    });
  }
  static void sessionClose(void *, void *state, wharf_session *handle) noexcept {
    auto *session = static_cast<typename L::Session *>(state);
    if constexpr (HasClose<typename L::Session>) {
      guard(handle, [&] {
        Session closing(handle);
        wharf_end_reason reason = closing.endReason();
        // Migrated: the session goes on in newer code; only this object goes.
        if (reason != WHARF_END_MIGRATED) session->onClose(closing, reason);
      });
    }
    delete session;
  }
  static wharf_status sessionExport(void *, void *state, wharf_session *handle, uint8_t *buffer,
                                    size_t capacity, size_t *length) noexcept {
    using State = typename L::Session;
    static_assert(ExportsState<State>,
                  "write it std::optional<std::vector<uint8_t>> exportState(wharf::Session &) "
                  "const: const, as the session may yet stay on this code; nullopt refuses");
    return guard(handle, [&] {
      Session session(handle);
      std::optional<std::vector<uint8_t>> exported =
          static_cast<const State *>(state)->exportState(session);
      if (!exported) return WHARF_ERROR;
      *length = exported->size();
      if (exported->size() > capacity) return WHARF_BUFFER_TOO_SMALL;  // asked again with room
      std::copy(exported->begin(), exported->end(), buffer);
      return WHARF_OK;
    });
  }
  static wharf_status sessionImport(void *instance, wharf_session *handle, const char *fromVersion,
                                    const uint8_t *data, size_t length, void **state) noexcept {
    using State = typename L::Session;
    static_assert(ImportsSession<L>,
                  "importSession returns std::unique_ptr<Session> (nullptr refuses)");
    return guard(handle, [&] {
      Session session(handle);
      std::unique_ptr<State> imported = static_cast<L *>(instance)->importSession(
          session, std::string_view(fromVersion == nullptr ? "" : fromVersion),
          Bytes(data, length));
      if (!imported) return WHARF_ERROR;
      *state = imported.release();
      return WHARF_OK;
    });
  }
  static wharf_status carriedImport(void *instance, wharf_session *handle, const char *fromVersion,
                                    const uint8_t *data, size_t length, void **state) noexcept {
    using Carried = typename L::Carried;
    return guard(handle, [&] {
      Session session(handle);
      std::unique_ptr<Carried> imported = static_cast<L *>(instance)->importCarried(
          session, std::string_view(fromVersion == nullptr ? "" : fromVersion),
          Bytes(data, length));
      if (!imported) return WHARF_ERROR;
      *state = imported.release();
      return WHARF_OK;
    });
  }
  static wharf_status resume(void *instance, void *state, wharf_session *handle) noexcept {
    std::unique_ptr<typename L::Carried> carried(static_cast<typename L::Carried *>(state));
    return guard(handle, [&] {
      Session session(handle);
      static_cast<L *>(instance)->resume(session, std::move(carried));
    });
  }
  static wharf_status datagram(void *instance, wharf_session *handle, const uint8_t *data,
                               size_t length) noexcept {
    return guard(handle, [&] {
      Session session(handle);
      static_cast<L *>(instance)->onDatagram(session, Bytes(data, length));
    });
  }
  static wharf_status serve(void *instance, wharf_session *handle) noexcept {
    return guard(handle, [&] {
      Session session(handle);
      static_cast<L *>(instance)->serve(session);
    });
  }

  static wharf_plugin describe(const char *name, const char *version, const char *description,
                               uint32_t capabilities) {
    wharf_plugin plugin{};
    plugin.header = WHARF_ABI_HEADER_INIT(WHARF_PLUGIN_MAGIC, wharf_plugin);
    plugin.name = name;
    plugin.version = version;
    plugin.description = description;
    plugin.capabilities = capabilities;
    plugin.on_instance_new = instanceNew;
    plugin.on_instance_destroy = instanceDestroy;
    if constexpr (HasPluginLoad<L>) plugin.on_plugin_load = pluginLoad;
    if constexpr (HasPluginUnload<L>) plugin.on_plugin_unload = pluginUnload;
    if constexpr (HasStreamSession<L>) {
      plugin.on_session_open = sessionOpen;
      plugin.on_session_data = sessionData;
      plugin.on_session_close = sessionClose;
      if constexpr (HasWritable<typename L::Session>) plugin.on_session_writable = sessionWritable;
      if constexpr (HasExport<typename L::Session>) plugin.session_export = sessionExport;
      if constexpr (HasImport<L>) plugin.session_import = sessionImport;
    }
    if constexpr (HasDatagram<L>) plugin.on_datagram = datagram;
    if constexpr (HasServe<L>) plugin.serve = serve;
    if constexpr (HasResume<L>) {
      static_assert(!HasImport<L>, "a plugin class carries sessions of one style only");
      plugin.session_import = carriedImport;
      plugin.resume = resume;
    }
    return plugin;
  }
};

}  // namespace detail

// A handle to post work to one session from any thread (SDK 1.2). Movable;
// releases its hold on the session when destroyed, at any time. THREAD:
// post() from any thread, several at once on one Waker; moving, assigning or
// destroying it must not happen while another thread posts through it.
class Waker {
 public:
  Waker() = default;
  explicit Waker(wharf_waker *waker) : waker_(waker) {}
  Waker(Waker &&other) noexcept : waker_(std::exchange(other.waker_, nullptr)) {}
  Waker &operator=(Waker other) noexcept {
    std::swap(waker_, other.waker_);
    return *this;
  }
  ~Waker() {
    if (waker_ != nullptr) detail::api->waker_release(waker_);
  }

  // THREAD: any. Runs `task(session)` on the session's thread soon; a task
  // written as [](wharf::Session &, MySession &me) {} gets the listener's
  // session object too. False if the session has ended (or too many posts
  // wait): the task never runs.
  template <typename Task>
  bool post(Task task) const {
    if (waker_ == nullptr) return false;
    auto *queued = detail::makeSessionTask(std::move(task));
    if (detail::api->waker_post(waker_, detail::runTaskOnce, detail::deleteTask, queued) ==
        WHARF_OK)
      return true;
    delete queued;
    return false;
  }
  // The same, and if the task was queued but will never run (the session
  // ended first), `dropped()` runs instead, once, on the thread that ended
  // the session; what it throws is lost. A false return runs neither.
  template <typename Task, typename Dropped>
  bool post(Task task, Dropped dropped) const {
    if (waker_ == nullptr) return false;
    auto *queued = new detail::PostedTask{detail::makeSessionTask(std::move(task)),
                                          std::function<void()>(std::move(dropped))};
    if (detail::api->waker_post(waker_, detail::runPostedOnce, detail::dropPosted, queued) ==
        WHARF_OK)
      return true;
    delete queued;
    return false;
  }

 private:
  wharf_waker *waker_ = nullptr;
};

inline Waker Session::waker() {
  wharf_waker *made = detail::api->session_waker(handle_);
  if (made == nullptr) throw Error("cannot make a waker for this session");
  return Waker(made);
}

template <typename Task>
Timer Session::startTimer(std::chrono::milliseconds delay, std::chrono::milliseconds repeat,
                          Task task) {
  auto *scheduled = detail::makeSessionTask(std::move(task));
  uint64_t id = 0;
  if (detail::api->session_timer_start(handle_, static_cast<uint64_t>(delay.count()),
                                       static_cast<uint64_t>(repeat.count()), detail::runTask,
                                       detail::deleteTask, scheduled, &id) != WHARF_OK) {
    delete scheduled;
    throw Error("the host refused the timer");
  }
  return Timer(
      [](void *owner, uint64_t timer) {
        return detail::api->session_timer_cancel(static_cast<wharf_session *>(owner), timer);
      },
      handle_, id);
}

template <typename Task>
Timer Instance::startTimer(std::chrono::milliseconds delay, std::chrono::milliseconds repeat,
                           Task task) {
  auto *scheduled = new detail::InstanceTask{handle_, std::move(task)};
  uint64_t id = 0;
  if (!WHARF_HOST_HAS(detail::api, instance_timer_start) ||
      detail::api->instance_timer_start(
          handle_, static_cast<uint64_t>(delay.count()), static_cast<uint64_t>(repeat.count()),
          detail::runInstanceTask, detail::deleteInstanceTask, scheduled, &id) != WHARF_OK) {
    delete scheduled;
    throw Error("the host refused the instance timer");
  }
  return Timer(
      [](void *owner, uint64_t timer) {
        return detail::api->instance_timer_cancel(static_cast<wharf_instance *>(owner), timer);
      },
      handle_, id);
}
}  // namespace wharf

// Defines the plugin's entry point for listener class LISTENER.
#define WHARF_PLUGIN(LISTENER, NAME, VERSION, DESCRIPTION, CAPABILITIES)                          \
  extern "C" WHARF_PLUGIN_EXPORT const wharf_plugin *wharf_plugin_entry(const wharf_host *host) { \
    if (host == nullptr || host->header.abi_major != WHARF_ABI_MAJOR) return nullptr;             \
    ::wharf::detail::api = host->api;                                                             \
    static const wharf_plugin descriptor =                                                        \
        ::wharf::detail::Adapter<LISTENER>::describe(NAME, VERSION, DESCRIPTION, CAPABILITIES);   \
    return &descriptor;                                                                           \
  }

#endif  // WHARF_WHARF_HPP
