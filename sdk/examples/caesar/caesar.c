/*
 * caesar — an example Wharf plugin in plain C, built out of tree against the
 * installed SDK. It answers every message with its letters rotated by
 * option.shift (default 13: ROT13), on streams and datagrams alike.
 *
 * Laid out like every Wharf plugin: state, option parsing, hooks, descriptor,
 * entry point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wharf/wharf.h>

static const wharf_host_api *host;

typedef struct caesar_instance {
  int shift;
} caesar_instance;

/* ---- instance: read and check the options ------------------------------ */

static wharf_status caesar_instance_new(wharf_instance *instance, void **state, char *error,
                                        size_t error_size) {
  caesar_instance *self = host->alloc(sizeof *self);
  const char *value = NULL;
  size_t length = 0;
  if (self == NULL) return WHARF_ERROR;
  self->shift = 13;
  if (host->option_get(instance, "shift", 5, &value, &length) == WHARF_OK) {
    char *end = NULL;
    long shift = strtol(value, &end, 10);
    if (length == 0 || *end != '\0' || shift < 0 || shift > 25) {
      snprintf(error, error_size, "option.shift must be a whole number from 0 to 25, not '%s'",
               value);
      host->free(self);
      return WHARF_ERROR;
    }
    self->shift = (int)shift;
  }
  *state = self;
  return WHARF_OK;
}

static void caesar_instance_destroy(void *state) {
  host->free(state);
}

/* ---- hooks -------------------------------------------------------------- */

static wharf_status caesar_reply(const caesar_instance *self, wharf_session *session,
                                 const uint8_t *data, size_t len) {
  uint8_t rotated[4096];
  while (len > 0) {
    size_t chunk = len < sizeof rotated ? len : sizeof rotated;
    for (size_t i = 0; i < chunk; ++i) {
      uint8_t c = data[i];
      if (c >= 'a' && c <= 'z') c = (uint8_t)('a' + (c - 'a' + self->shift) % 26);
      if (c >= 'A' && c <= 'Z') c = (uint8_t)('A' + (c - 'A' + self->shift) % 26);
      rotated[i] = c;
    }
    wharf_status status = host->session_write(session, rotated, chunk);
    if (status != WHARF_OK) return status;
    data += chunk;
    len -= chunk;
  }
  return WHARF_OK;
}

static wharf_status caesar_data(void *instance_state, void *session_state, wharf_session *session,
                                const uint8_t *data, size_t len) {
  (void)session_state;
  return caesar_reply(instance_state, session, data, len);
}

static wharf_status caesar_datagram(void *instance_state, wharf_session *session,
                                    const uint8_t *data, size_t len) {
  if (len > 4096) return WHARF_INVALID; /* one reply datagram per datagram */
  return caesar_reply(instance_state, session, data, len);
}

/* ---- descriptor and entry point ----------------------------------------- */

static const wharf_plugin caesar_plugin = {
    .header = WHARF_ABI_HEADER_INIT(WHARF_PLUGIN_MAGIC, wharf_plugin),
    .name = "caesar",
    .version = "1.0.0",
    .description = "rotates letters by option.shift",
    .capabilities = WHARF_CAP_EVENT | WHARF_CAP_STREAM | WHARF_CAP_DATAGRAM | WHARF_CAP_CONCURRENT,
    .on_instance_new = caesar_instance_new,
    .on_instance_destroy = caesar_instance_destroy,
    .on_session_data = caesar_data,
    .on_datagram = caesar_datagram,
};

WHARF_PLUGIN_EXPORT const wharf_plugin *wharf_plugin_entry(const wharf_host *h) {
  if (h->header.abi_major != WHARF_ABI_MAJOR) return NULL;
  host = h->api;
  return &caesar_plugin;
}
