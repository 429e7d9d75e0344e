#include "plugin/HostApi.h"

#include <Poco/Message.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "app/Version.h"
#include "logging/PrintableText.h"
#include "plugin/PluginInstance.h"
#include "plugin/WakerTable.h"
#include "session/AcceptedClient.h"
#include "session/Agenda.h"
#include "session/Session.h"
#include "zone/SharedZone.h"

namespace wharf::plugin {
namespace {

using session::Session;

std::atomic<uint64_t> staleUses{0};

// The session or instance a handle names; nullptr (and counted) for one that
// has ended: a kept handle reaches nothing, never another session.
Session *live(const wharf_session *handle) {
  Session *session = Session::find(handle);
  if (session == nullptr) staleUses.fetch_add(1, std::memory_order_relaxed);
  return session;
}
PluginInstance *live(const wharf_instance *handle) {
  PluginInstance *instance = PluginInstance::find(handle);
  if (instance == nullptr) staleUses.fetch_add(1, std::memory_order_relaxed);
  return instance;
}

// Runs a host function body; anything it throws becomes WHARF_ERROR.
template <typename Body>
wharf_status guarded(Body body) noexcept {
  try {
    return body();
  } catch (...) {
    return WHARF_ERROR;
  }
}

Poco::Message::Priority priority(wharf_log_level level) {
  switch (level) {
    case WHARF_LOG_ERROR:
      return Poco::Message::PRIO_ERROR;
    case WHARF_LOG_WARNING:
      return Poco::Message::PRIO_WARNING;
    case WHARF_LOG_NOTICE:
      return Poco::Message::PRIO_NOTICE;
    case WHARF_LOG_INFO:
      return Poco::Message::PRIO_INFORMATION;
    default:
      return Poco::Message::PRIO_DEBUG;
  }
}

void *hostAlloc(size_t size) {
  return std::malloc(size);
}
void hostFree(void *pointer) {
  std::free(pointer);
}

void hostLog(const wharf_instance *instance, wharf_log_level level, const char *message,
             size_t len) {
  if (message == nullptr && len > 0) return;
  guarded([&] {
    PluginInstance *self = live(instance);
    if (self == nullptr) return WHARF_CLOSED;
    Poco::Logger &logger = self->logger();
    if (logger.is(priority(level)))  // escaped: a plugin cannot forge a line of its own
      logger.log(Poco::Message(logger.name(), logging::printable(std::string_view(message, len)),
                               priority(level)));
    return WHARF_OK;
  });
}

void hostSessionLog(const wharf_session *session, wharf_log_level level, const char *message,
                    size_t len) {
  if (message == nullptr && len > 0) return;
  guarded([&] {
    Session *self = live(session);
    if (self == nullptr) return WHARF_CLOSED;
    self->log(priority(level), logging::printable(std::string_view(message, len)));
    return WHARF_OK;
  });
}

wharf_status giveOption(const config::PluginOption &option, const char **key, size_t *keyLen,
                        const char **value, size_t *valueLen) {
  if (key != nullptr) *key = option.key.c_str();
  if (keyLen != nullptr) *keyLen = option.key.size();
  if (value != nullptr) *value = option.value.c_str();
  if (valueLen != nullptr) *valueLen = option.value.size();
  return WHARF_OK;
}

wharf_status optionGet(const wharf_instance *instance, const char *key, size_t keyLen,
                       const char **value, size_t *valueLen) {
  return guarded([&] {
    PluginInstance *self = live(instance);
    if (self == nullptr) return WHARF_CLOSED;
    const config::PluginOption *option = self->option(std::string_view(key, keyLen));
    return option ? giveOption(*option, nullptr, nullptr, value, valueLen) : WHARF_NOT_FOUND;
  });
}

size_t optionCount(const wharf_instance *instance) {
  PluginInstance *self = live(instance);
  return self == nullptr ? 0 : self->options().size();
}

wharf_status optionAt(const wharf_instance *instance, size_t index, const char **key,
                      size_t *keyLen, const char **value, size_t *valueLen) {
  PluginInstance *self = live(instance);
  if (self == nullptr) return WHARF_CLOSED;
  const auto &options = self->options();
  if (index >= options.size()) return WHARF_NOT_FOUND;
  return giveOption(options[index], key, keyLen, value, valueLen);
}

wharf_status instanceName(const wharf_instance *instance, const char **name, size_t *nameLen) {
  PluginInstance *self = live(instance);
  if (self == nullptr) return WHARF_CLOSED;
  const std::string &listener = self->listenerName();
  *name = listener.c_str();
  *nameLen = listener.size();
  return WHARF_OK;
}

wharf_socket_kind instanceSocketKind(const wharf_instance *instance) {
  PluginInstance *self = live(instance);
  return self == nullptr ? WHARF_SOCKET_STREAM : self->socketKind();
}

wharf_status sessionWrite(wharf_session *session, const void *data, size_t len) {
  if (data == nullptr && len > 0) return WHARF_INVALID;
  Session *self = live(session);
  if (self == nullptr) return WHARF_CLOSED;
  return guarded([&] { return self->write(data, len); });
}

wharf_status sessionRead(wharf_session *session, void *buffer, size_t capacity, size_t *received) {
  if (buffer == nullptr || received == nullptr) return WHARF_INVALID;
  Session *self = live(session);
  if (self == nullptr) return WHARF_CLOSED;
  return guarded([&] { return self->read(buffer, capacity, received); });
}

wharf_status sessionClose(wharf_session *session) {
  Session *self = live(session);
  if (self == nullptr) return WHARF_CLOSED;
  return self->requestClose() ? WHARF_OK : WHARF_UNSUPPORTED;
}

// Copies `text` out through the C ABI, without a NUL.
wharf_status copyText(const std::string &text, char *buffer, size_t capacity, size_t *len) {
  if (len != nullptr) *len = text.size();
  if (text.size() > capacity) return WHARF_BUFFER_TOO_SMALL;
  if (!text.empty()) std::memcpy(buffer, text.data(), text.size());
  return WHARF_OK;
}

wharf_status sessionPeer(const wharf_session *session, char *buffer, size_t capacity, size_t *len) {
  Session *self = live(session);
  if (self == nullptr) return WHARF_CLOSED;
  return guarded([&] { return copyText(self->peer(), buffer, capacity, len); });
}

wharf_status sessionTls(const wharf_session *session, wharf_tls_field requested, char *buffer,
                        size_t capacity, size_t *len) {
  // The plugin's value may be no field at all: read as a number (a load of an
  // enum outside its range is undefined in C++), then checked.
  static_assert(sizeof(wharf_tls_field) == sizeof(int));
  int field = 0;
  std::memcpy(&field, &requested, sizeof field);
  if (field < WHARF_TLS_PROTOCOL || field > WHARF_TLS_CLIENT_SUBJECT) return WHARF_INVALID;
  Session *self = live(session);
  if (self == nullptr) return WHARF_CLOSED;
  const tls::TlsStream *tls = self->tls();
  if (tls == nullptr) return WHARF_NOT_FOUND;
  return guarded([&] {
    std::optional<std::string> value;
    switch (field) {
      case WHARF_TLS_PROTOCOL:
        value = tls::versionName(tls->version());
        break;
      case WHARF_TLS_CIPHER:
        value = tls->cipher();
        break;
      case WHARF_TLS_SERVER_NAME:
        value = tls->serverName();
        break;
      case WHARF_TLS_ALPN:
        value = tls->applicationProtocol();
        break;
      case WHARF_TLS_CLIENT_SUBJECT:
        value = tls->clientSubject();
        break;
    }
    return value ? copyText(*value, buffer, capacity, len) : WHARF_NOT_FOUND;
  });
}

size_t sessionPendingOutput(const wharf_session *session) {
  Session *self = live(session);
  return self == nullptr ? 0 : self->pendingOutput();
}

int sessionSocket(const wharf_session *session) {
  Session *self = live(session);
  return self == nullptr ? -1 : self->socket();
}

// Copies `address` out through the C ABI.
wharf_status copyAddress(const net::SocketAddress &address, sockaddr_storage *out,
                         socklen_t *length) {
  std::memcpy(out, address.get(), address.length());
  if (length != nullptr) *length = address.length();
  return WHARF_OK;
}

wharf_status sessionAddress(const wharf_session *session, wharf_address which,
                            sockaddr_storage *address, socklen_t *length) {
  if (address == nullptr) return WHARF_INVALID;
  Session *self = live(session);
  if (self == nullptr) return WHARF_CLOSED;
  return guarded([&] {
    std::optional<net::SocketAddress> found = self->address(which);
    return found ? copyAddress(*found, address, length) : WHARF_NOT_FOUND;
  });
}

wharf_status sessionAcceptedClient(const wharf_session *session, int fd, sockaddr_storage *client,
                                   socklen_t *length) {
  if (client == nullptr || fd < 0) return WHARF_INVALID;
  const Session *self = live(session);
  if (self == nullptr) return WHARF_CLOSED;
  if (!self->mayBlock()) return WHARF_UNSUPPORTED;
  return guarded([&] {
    net::SocketAddress found;
    wharf_status status = session::acceptedClient(*self, fd, found);
    return status == WHARF_OK ? copyAddress(found, client, length) : status;
  });
}

wharf_status sessionTimerStart(wharf_session *session, uint64_t delayMs, uint64_t repeatMs,
                               wharf_session_callback callback, wharf_dropped_callback release,
                               void *user, uint64_t *timerId) {
  Session *self = live(session);
  if (self == nullptr) return WHARF_CLOSED;
  session::Agenda *agenda = self->agenda();
  if (agenda == nullptr) return WHARF_UNSUPPORTED;
  return guarded(
      [&] { return agenda->startTimer(delayMs, repeatMs, callback, release, user, timerId); });
}

wharf_status sessionTimerCancel(wharf_session *session, uint64_t timerId) {
  Session *self = live(session);
  if (self == nullptr) return WHARF_CLOSED;
  session::Agenda *agenda = self->agenda();
  return agenda == nullptr ? WHARF_UNSUPPORTED : agenda->cancelTimer(timerId);
}

wharf_status sessionCountBytes(wharf_session *session, wharf_bytes_path path, uint64_t received,
                               uint64_t sent) {
  constexpr uint64_t kMostPerCall = uint64_t{1} << 40;  // 1 TiB: no real call moves more
  if ((path != WHARF_BYTES_SESSION_SOCKET && path != WHARF_BYTES_OWN_CONNECTION) ||
      received > kMostPerCall || sent > kMostPerCall)
    return WHARF_INVALID;
  Session *self = live(session);
  if (self == nullptr) return WHARF_CLOSED;
  self->countPluginBytes(path == WHARF_BYTES_OWN_CONNECTION, {received, sent});
  return WHARF_OK;
}

wharf_status sessionPauseInput(wharf_session *session, int paused) {
  Session *self = live(session);
  return self == nullptr ? WHARF_CLOSED : self->pauseInput(paused != 0);
}

wharf_waker *sessionWaker(wharf_session *session) {
  Session *self = live(session);
  if (self == nullptr) return nullptr;
  try {
    session::Agenda *agenda = self->agenda();
    std::shared_ptr<session::Mailbox> mailbox = agenda ? agenda->mailbox() : nullptr;
    return mailbox ? wakers::make(std::move(mailbox)) : nullptr;
  } catch (...) {  // no memory, or no eventfd
    return nullptr;
  }
}

wharf_status wakerPost(wharf_waker *waker, wharf_session_callback callback,
                       wharf_dropped_callback dropped, void *user) {
  if (waker == nullptr) return WHARF_INVALID;
  return guarded([&] {
    std::shared_ptr<session::Mailbox> mailbox = wakers::find(waker);
    if (mailbox == nullptr) {
      staleUses.fetch_add(1, std::memory_order_relaxed);
      return WHARF_CLOSED;
    }
    return mailbox->post(callback, dropped, user);
  });
}

void wakerRelease(wharf_waker *waker) {
  if (waker != nullptr && !wakers::release(waker))
    staleUses.fetch_add(1, std::memory_order_relaxed);
}

wharf_end_reason sessionEndReason(const wharf_session *session) {
  Session *self = live(session);
  return self == nullptr ? WHARF_END_NONE : self->endReason();
}

wharf_metric *metricDeclare(wharf_instance *instance, wharf_metric_kind kind, const char *name,
                            const char *help, const char *labels) {
  if (instance == nullptr || name == nullptr) return nullptr;
  PluginInstance *found = live(instance);
  if (found == nullptr) return nullptr;
  PluginInstance &self = *found;
  try {
    std::string why;
    wharf_metric *metric =
        self.metrics().declare(kind, name, help ? help : "", labels ? labels : "", why);
    if (metric == nullptr)
      self.logger().warning(self.describe() + ": metric refused: " + logging::printable(why));
    return metric;
  } catch (...) {  // no memory
    return nullptr;
  }
}

wharf_status metricAdd(wharf_metric *metric, int64_t delta) {
  if (metric == nullptr || (metric->kind == WHARF_METRIC_COUNTER && delta < 0))
    return WHARF_INVALID;
  metric->value->fetch_add(delta, std::memory_order_relaxed);
  return WHARF_OK;
}

wharf_status metricSet(wharf_metric *metric, int64_t value) {
  if (metric == nullptr || metric->kind != WHARF_METRIC_GAUGE) return WHARF_INVALID;
  metric->value->store(value, std::memory_order_relaxed);
  return WHARF_OK;
}

wharf_status instanceTimerStart(wharf_instance *instance, uint64_t delayMs, uint64_t repeatMs,
                                wharf_instance_callback callback, wharf_dropped_callback release,
                                void *user, uint64_t *timerId) {
  if (instance == nullptr) return WHARF_INVALID;
  PluginInstance *self = live(instance);
  if (self == nullptr) return WHARF_CLOSED;
  return guarded(
      [&] { return self->clock().start(delayMs, repeatMs, callback, release, user, timerId); });
}

wharf_status instanceTimerCancel(wharf_instance *instance, uint64_t timerId) {
  if (instance == nullptr) return WHARF_INVALID;
  PluginInstance *self = live(instance);
  return self == nullptr ? WHARF_CLOSED : self->clock().cancel(timerId);
}

wharf_status sessionAddressText(const wharf_session *session, wharf_address which, char *buffer,
                                size_t capacity, size_t *len) {
  if (buffer == nullptr && capacity > 0) return WHARF_INVALID;
  Session *self = live(session);
  if (self == nullptr) return WHARF_CLOSED;
  return guarded([&] {
    std::optional<net::SocketAddress> found = self->address(which);
    return found ? copyText(found->toString(), buffer, capacity, len) : WHARF_NOT_FOUND;
  });
}

const char *sessionTransport(const wharf_session *session) {
  // The names are literals: their views end in a NUL.
  Session *self = live(session);
  return self == nullptr ? "" : net::transportName(self->instance().transport()).data();
}

wharf_zone *zoneDeclare(wharf_instance *instance, const char *name, size_t size, uint32_t layout,
                        int *fresh) {
  if (instance == nullptr || name == nullptr) return nullptr;
  PluginInstance *self = live(instance);
  if (self == nullptr) return nullptr;
  bool made = false;
  wharf_zone *zone = self->declareZone(name, size, layout, made);
  if (zone != nullptr && fresh != nullptr) *fresh = made ? 1 : 0;
  return zone;
}

wharf_status zoneLock(wharf_zone *zone, int *recovered) {
  if (zone == nullptr) return WHARF_INVALID;
  bool wasRecovered = false;
  wharf_status status = zone::SharedZone::from(zone).lock(wasRecovered);
  if (recovered != nullptr) *recovered = wasRecovered ? 1 : 0;
  return status;
}

wharf_status zoneUnlock(wharf_zone *zone) {
  return zone == nullptr ? WHARF_INVALID : zone::SharedZone::from(zone).unlock();
}

uint64_t zoneAlloc(wharf_zone *zone, size_t size) {
  return zone == nullptr ? 0 : zone::SharedZone::from(zone).allocate(size);
}

wharf_status zoneFree(wharf_zone *zone, uint64_t offset) {
  if (zone == nullptr) return WHARF_INVALID;
  return zone::SharedZone::from(zone).release(offset) ? WHARF_OK : WHARF_INVALID;
}

void *zoneAt(wharf_zone *zone, uint64_t offset) {
  return zone == nullptr ? nullptr : zone::SharedZone::from(zone).at(offset);
}

uint64_t *zoneRoot(wharf_zone *zone) {
  return zone == nullptr ? nullptr : zone::SharedZone::from(zone).root();
}

int sessionHandoverFd(const wharf_session *session) {
  Session *self = live(session);
  return self == nullptr ? -1 : self->handoverFd();
}

// As much as session_export may write (across workers, 256 KiB: more stays).
constexpr size_t kMaxHandedOverState = 1 << 20;

wharf_status sessionHandOver(wharf_session *session, const uint8_t *state, size_t len) {
  return guarded([&] {
    Session *self = live(session);
    if (self == nullptr) return WHARF_CLOSED;
    if ((state == nullptr && len > 0) || len > kMaxHandedOverState) return WHARF_INVALID;
    return self->handOver({state, len});
  });
}

const wharf_host_api kHostApi = {
    .struct_size = sizeof(wharf_host_api),
    .reserved = 0,
    .alloc = hostAlloc,
    .free = hostFree,
    .log = hostLog,
    .session_log = hostSessionLog,
    .option_get = optionGet,
    .option_count = optionCount,
    .option_at = optionAt,
    .instance_name = instanceName,
    .instance_socket_kind = instanceSocketKind,
    .session_write = sessionWrite,
    .session_read = sessionRead,
    .session_close = sessionClose,
    .session_peer = sessionPeer,
    .session_pending_output = sessionPendingOutput,
    .session_socket = sessionSocket,
    .session_address = sessionAddress,
    .session_accepted_client = sessionAcceptedClient,
    .session_timer_start = sessionTimerStart,
    .session_timer_cancel = sessionTimerCancel,
    .session_pause_input = sessionPauseInput,
    .session_waker = sessionWaker,
    .waker_post = wakerPost,
    .waker_release = wakerRelease,
    .session_end_reason = sessionEndReason,
    .metric_declare = metricDeclare,
    .metric_add = metricAdd,
    .metric_set = metricSet,
    .instance_timer_start = instanceTimerStart,
    .instance_timer_cancel = instanceTimerCancel,
    .session_address_text = sessionAddressText,
    .session_transport = sessionTransport,
    .zone_declare = zoneDeclare,
    .zone_lock = zoneLock,
    .zone_unlock = zoneUnlock,
    .zone_alloc = zoneAlloc,
    .zone_free = zoneFree,
    .zone_at = zoneAt,
    .zone_root = zoneRoot,
    .session_count_bytes = sessionCountBytes,
    .session_tls = sessionTls,
    .session_handover_fd = sessionHandoverFd,
    .session_hand_over = sessionHandOver,
};

}  // namespace

uint64_t staleHandleUses() {
  return staleUses.load(std::memory_order_relaxed);
}

const wharf_host &hostDescriptor() {
  static const std::string version = std::string("wharfd ") + app::version();
  static const wharf_host host = {
      .header = WHARF_ABI_HEADER_INIT(WHARF_HOST_MAGIC, wharf_host),
      .host_version = version.c_str(),
      .api = &kHostApi,
  };
  return host;
}

}  // namespace wharf::plugin
