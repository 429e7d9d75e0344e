/*
 * echo — the Echo Protocol (RFC 862) as a Wharf plugin.
 *
 * Streams: every byte received is sent back until the client closes.
 * Datagrams: every datagram is answered with a datagram of the same bytes.
 * Event style, stateless, so it runs in every concurrency mode.
 */
#include <wharf/wharf.h>

static const wharf_host_api *host_api;

static wharf_status echo_plugin_load(const wharf_host *host, char *error, size_t error_size) {
  (void)error;
  (void)error_size;
  host_api = host->api;
  return WHARF_OK;
}

static wharf_status echo_session_data(void *instance_state, void *session_state,
                                      wharf_session *session, const uint8_t *data, size_t len) {
  (void)instance_state;
  (void)session_state;
  return host_api->session_write(session, data, len);
}

static wharf_status echo_datagram(void *instance_state, wharf_session *session, const uint8_t *data,
                                  size_t len) {
  (void)instance_state;
  return host_api->session_write(session, data, len);
}

/* Live migration (migrate = on): an echo session has no state to carry. */
static wharf_status echo_session_export(void *instance_state, void *session_state,
                                        wharf_session *session, uint8_t *buffer, size_t capacity,
                                        size_t *len) {
  (void)instance_state;
  (void)session_state;
  (void)session;
  (void)buffer;
  (void)capacity;
  *len = 0;
  return WHARF_OK;
}

static wharf_status echo_session_import(void *instance_state, wharf_session *session,
                                        const char *from_version, const uint8_t *data, size_t len,
                                        void **session_state) {
  (void)instance_state;
  (void)session;
  (void)from_version;
  (void)data;
  *session_state = NULL;
  return len == 0 ? WHARF_OK : WHARF_INVALID;
}

static const wharf_plugin echo_plugin = {
    .header = WHARF_ABI_HEADER_INIT(WHARF_PLUGIN_MAGIC, wharf_plugin),
    .name = "echo",
    .version = "1.0.0",
    .description = "Echo Protocol, RFC 862",
    .capabilities = WHARF_CAP_EVENT | WHARF_CAP_STREAM | WHARF_CAP_DATAGRAM | WHARF_CAP_CONCURRENT |
                    WHARF_CAP_FORK_SAFE | WHARF_CAP_CLIENT_FIRST,
    .on_plugin_load = echo_plugin_load,
    .on_session_data = echo_session_data,
    .on_datagram = echo_datagram,
    .session_export = echo_session_export,
    .session_import = echo_session_import,
};

WHARF_PLUGIN_EXPORT const wharf_plugin *wharf_plugin_entry(const wharf_host *host) {
  (void)host;
  return &echo_plugin;
}
