/*
 * time — the inetd time services as a Wharf plugin, chosen by option.format:
 *
 *   rfc868   (default) RFC 868 Time: 4 bytes, seconds since 1900 (TCP: on
 *            connect, then close; UDP: per datagram)
 *   daytime  RFC 867 Daytime: one human-readable line (option.timezone =
 *            utc | local, default utc)
 *   stamp    every message answered as "[<ctime date>] <message>" (the
 *            classic tutorial's timestamp server), until the client closes
 *   sntp     an SNTPv4 server (RFC 4330), datagram transports only
 *            (option.stratum 1..15, default 1; option.refid, default LOCL)
 *
 * Over datagrams, daytime and stamp answer a request of at least
 * option.min_request bytes only (default 48, 0 to 65507): their answer is
 * longer than a short request, so a spoofed one would make this host send a
 * victim more than the attacker sent. Daytime's line (at most 44 bytes) is
 * then never longer than the request; stamp adds its 27-byte prefix (1.35
 * times on the wire at 48). rfc868 answers 4 bytes, sntp 48 to 48.
 *
 * Event style and stateless per session, so it runs in every mode.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wharf/wharf.h>

#include "time_formats.h"

static const wharf_host_api *host;

typedef enum time_format { FORMAT_RFC868, FORMAT_DAYTIME, FORMAT_STAMP, FORMAT_SNTP } time_format;

typedef struct time_instance {
  time_format format;
  int utc;
  time_sntp_server sntp;
  size_t min_request; /* datagram daytime and stamp */
} time_instance;

#define TIME_DEFAULT_MIN_REQUEST 48
#define TIME_MAX_DATAGRAM 65507

/* ---- options -------------------------------------------------------------- */

static int option_is(const wharf_instance *instance, const char *key, const char **value) {
  size_t length = 0;
  return host->option_get(instance, key, strlen(key), value, &length) == WHARF_OK;
}

static int parse_format(const char *text, time_format *format) {
  static const struct {
    const char *name;
    time_format format;
  } formats[] = {{"rfc868", FORMAT_RFC868},
                 {"daytime", FORMAT_DAYTIME},
                 {"stamp", FORMAT_STAMP},
                 {"sntp", FORMAT_SNTP}};
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; ++i)
    if (strcmp(text, formats[i].name) == 0) return *format = formats[i].format, 1;
  return 0;
}

/* A dotted IPv4 address (for stratum >= 2), else up to 4 ASCII characters. */
static int parse_refid(const char *text, uint8_t out[4]) {
  struct in_addr address;
  if (inet_pton(AF_INET, text, &address) == 1) return memcpy(out, &address, 4), 1;
  size_t length = strlen(text);
  if (length == 0 || length > 4) return 0;
  memset(out, 0, 4);
  memcpy(out, text, length);
  return 1;
}

static wharf_status fail(char *error, size_t error_size, const char *message, const char *value) {
  snprintf(error, error_size, message, value);
  return WHARF_ERROR;
}

static wharf_status read_options(wharf_instance *instance, time_instance *self, char *error,
                                 size_t error_size) {
  const char *value = NULL;
  for (size_t i = 0, count = host->option_count(instance); i < count; ++i) {
    const char *key = NULL;
    host->option_at(instance, i, &key, NULL, NULL, NULL);
    if (strcmp(key, "format") != 0 && strcmp(key, "timezone") != 0 && strcmp(key, "stratum") != 0 &&
        strcmp(key, "refid") != 0 && strcmp(key, "min_request") != 0)
      return fail(error, error_size,
                  "unknown option.%s (known: format, timezone, stratum, refid, min_request)", key);
  }
  if (option_is(instance, "format", &value) && !parse_format(value, &self->format))
    return fail(error, error_size, "option.format = %s: expected rfc868, daytime, stamp or sntp",
                value);
  if (option_is(instance, "timezone", &value)) {
    if (strcmp(value, "utc") != 0 && strcmp(value, "local") != 0)
      return fail(error, error_size, "option.timezone = %s: expected utc or local", value);
    self->utc = strcmp(value, "utc") == 0;
  }
  if (option_is(instance, "stratum", &value)) {
    char *end = NULL;
    long stratum = strtol(value, &end, 10);
    if (*value == '\0' || *end != '\0' || stratum < 1 || stratum > 15)
      return fail(error, error_size, "option.stratum = %s: expected 1 to 15", value);
    self->sntp.stratum = (uint8_t)stratum;
  }
  if (option_is(instance, "min_request", &value)) {
    char *end = NULL;
    long minimum = strtol(value, &end, 10);
    if (*value == '\0' || *end != '\0' || minimum < 0 || minimum > TIME_MAX_DATAGRAM)
      return fail(error, error_size, "option.min_request = %s: expected 0 to 65507", value);
    self->min_request = (size_t)minimum;
  }
  if (option_is(instance, "refid", &value) && !parse_refid(value, self->sntp.reference_id))
    return fail(error, error_size,
                "option.refid = %s: expected up to 4 ASCII characters or an IPv4 address", value);
  if (self->format == FORMAT_SNTP && host->instance_socket_kind(instance) != WHARF_SOCKET_DATAGRAM)
    return fail(error, error_size, "%s", "option.format = sntp needs udp or unix-dgram");
  return WHARF_OK;
}

static wharf_status time_instance_new(wharf_instance *instance, void **state, char *error,
                                      size_t error_size) {
  time_instance *self = host->alloc(sizeof *self);
  if (self == NULL) return fail(error, error_size, "%s", "out of memory");
  *self =
      (time_instance){FORMAT_RFC868, 1, {1, {'L', 'O', 'C', 'L'}, -20}, TIME_DEFAULT_MIN_REQUEST};
  wharf_status status = read_options(instance, self, error, error_size);
  if (status != WHARF_OK) {
    host->free(self);
    return status;
  }
  *state = self;
  return WHARF_OK;
}

static void time_instance_destroy(void *state) {
  host->free(state);
}

/* ---- replies ---------------------------------------------------------------- */

static struct timespec now(void) {
  struct timespec when;
  clock_gettime(CLOCK_REALTIME, &when);
  return when;
}

/* The one-shot answer of rfc868 and daytime. */
static wharf_status write_time(const time_instance *self, wharf_session *session) {
  int64_t seconds = (int64_t)now().tv_sec;
  if (self->format == FORMAT_RFC868) {
    uint8_t bytes[4];
    time_rfc868_encode(seconds, bytes);
    return host->session_write(session, bytes, sizeof bytes);
  }
  char line[128];
  size_t length = time_daytime(seconds, self->utc, line, sizeof line);
  return length ? host->session_write(session, line, length) : WHARF_ERROR;
}

static wharf_status write_stamped(wharf_session *session, const uint8_t *data, size_t len) {
  char prefix[64];
  size_t length = time_stamp_prefix((int64_t)now().tv_sec, prefix, sizeof prefix);
  uint8_t *message = host->alloc(length + len);
  if (message == NULL) return WHARF_ERROR;
  memcpy(message, prefix, length);
  memcpy(message + length, data, len);
  wharf_status status = host->session_write(session, message, length + len);
  host->free(message);
  return status;
}

/* ---- hooks -------------------------------------------------------------------- */

static wharf_status time_session_open(void *instance_state, wharf_session *session,
                                      void **session_state) {
  const time_instance *self = instance_state;
  (void)session_state;
  if (self->format == FORMAT_STAMP) return WHARF_OK;
  wharf_status status = write_time(self, session);
  host->session_close(session);
  return status;
}

static wharf_status time_session_data(void *instance_state, void *session_state,
                                      wharf_session *session, const uint8_t *data, size_t len) {
  const time_instance *self = instance_state;
  (void)session_state;
  return self->format == FORMAT_STAMP ? write_stamped(session, data, len) : WHARF_OK;
}

static wharf_status time_datagram(void *instance_state, wharf_session *session, const uint8_t *data,
                                  size_t len) {
  const time_instance *self = instance_state;
  struct timespec received = now();
  if ((self->format == FORMAT_DAYTIME || self->format == FORMAT_STAMP) && len < self->min_request) {
    static const char ignored[] =
        "ignored a datagram shorter than option.min_request (the answer would amplify it)";
    host->session_log(session, WHARF_LOG_DEBUG, ignored, sizeof ignored - 1);
    return WHARF_OK;
  }
  if (self->format == FORMAT_STAMP) return write_stamped(session, data, len);
  if (self->format != FORMAT_SNTP) return write_time(self, session);
  uint8_t reply[TIME_SNTP_PACKET];
  if (time_sntp_reply(data, len, &self->sntp, received, now(), reply) == 0) {
    static const char ignored[] = "ignored a datagram that is not an SNTP client request";
    host->session_log(session, WHARF_LOG_DEBUG, ignored, sizeof ignored - 1);
    return WHARF_OK;
  }
  return host->session_write(session, reply, sizeof reply);
}

/* ---- descriptor and entry point ------------------------------------------------ */

static wharf_status time_plugin_load(const wharf_host *h, char *error, size_t error_size) {
  (void)error;
  (void)error_size;
  host = h->api;
  tzset(); /* once, on the main thread: localtime_r needs the zone loaded */
  return WHARF_OK;
}

static const wharf_plugin time_plugin = {
    .header = WHARF_ABI_HEADER_INIT(WHARF_PLUGIN_MAGIC, wharf_plugin),
    .name = "time",
    .version = "1.0.0",
    .description = "RFC 868 time, RFC 867 daytime, timestamp and SNTP services",
    .capabilities = WHARF_CAP_EVENT | WHARF_CAP_STREAM | WHARF_CAP_DATAGRAM | WHARF_CAP_CONCURRENT |
                    WHARF_CAP_FORK_SAFE,
    .on_plugin_load = time_plugin_load,
    .on_instance_new = time_instance_new,
    .on_instance_destroy = time_instance_destroy,
    .on_session_open = time_session_open,
    .on_session_data = time_session_data,
    .on_datagram = time_datagram,
};

WHARF_PLUGIN_EXPORT const wharf_plugin *wharf_plugin_entry(const wharf_host *h) {
  (void)h;
  return &time_plugin;
}
