/*
 * wharf_layout.c — the SDK's layout checker: prints what a C compiler makes of
 * wharf.h (and of the zone layout of wharf_kv.h) on this machine, one fact a
 * line, for bindings in other languages to compare with their own types:
 *
 *   size T N            sizeof(T)
 *   align T N           alignment of T
 *   field T.f OFFSET N  offsetof(T, f) and sizeof(T.f), every field, in order
 *   const NAME VALUE    every numeric constant (macros and enum values)
 *   string NAME TEXT    the string constants
 *
 * It also checks itself: the fields it lists for a struct must cover the
 * struct, each starting where the one before ends (rounded up to its own
 * alignment) and the last reaching sizeof(T), so a field added to the header
 * but not listed here makes it fail (exit 1, the reason on stderr) instead of
 * going unchecked. The ctest sdk.layout_checker_covers_header runs it, and
 * checks that every constant the headers define is printed.
 *
 * Build: cc -I<include dir> wharf_layout.c -o wharf_layout (C11, or GNU C99).
 * The Rust crate's `cargo test` does that itself (sdk/rust/tests/layout.rs).
 * Installed with the SDK as share/wharf-sdk/checker/wharf_layout.c: source,
 * not a program, so that the SDK stays architecture-independent.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <wharf/wharf.h>
#include <wharf/wharf_kv.h>

static int failures = 0;
static const char *current = NULL; /* the struct being listed */
static size_t covered = 0;         /* where its last listed field ends */

static size_t round_up(size_t value, size_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

static void begin(const char *type, size_t size, size_t alignment) {
  printf("size %s %zu\n", type, size);
  printf("align %s %zu\n", type, alignment);
  current = type;
  covered = 0;
}

static void field(const char *name, size_t offset, size_t size, size_t alignment) {
  printf("field %s.%s %zu %zu\n", current, name, offset, size);
  if (offset != round_up(covered, alignment)) {
    fprintf(stderr, "%s.%s starts at %zu, not at %zu: a field before it is not listed\n", current,
            name, offset, round_up(covered, alignment));
    ++failures;
  }
  covered = offset + size;
}

static void end(size_t size, size_t alignment) {
  if (round_up(covered, alignment) != size) {
    fprintf(stderr, "%s is %zu bytes, its listed fields end at %zu: a field is not listed\n",
            current, size, covered);
    ++failures;
  }
}

#define NAMED_TYPE(NAME, T) \
  printf("size %s %zu\nalign %s %zu\n", NAME, sizeof(T), NAME, (size_t)alignof(T))
#define TYPE(T) NAMED_TYPE(#T, T)
#define BEGIN(T) begin(#T, sizeof(T), alignof(T))
#define FIELD(T, f) \
  field(#f, offsetof(T, f), sizeof(((T *)0)->f), (size_t)alignof(__typeof__(((T *)0)->f)))
#define END(T) end(sizeof(T), alignof(T))
#define CONST(NAME) printf("const %s %lld\n", #NAME, (long long)(NAME))
#define STRING(NAME) printf("string %s %s\n", #NAME, NAME)

int main(void) {
  /* The platform's types the header uses. */
  NAMED_TYPE("pointer", void *);
  TYPE(size_t);
  TYPE(off_t);
  TYPE(socklen_t);
  NAMED_TYPE("sockaddr_storage", struct sockaddr_storage);
  /* Enums: their size (an int's here). */
  TYPE(wharf_status);
  TYPE(wharf_end_reason);
  TYPE(wharf_log_level);
  TYPE(wharf_socket_kind);
  TYPE(wharf_address);
  TYPE(wharf_bytes_path);
  TYPE(wharf_tls_field);
  TYPE(wharf_metric_kind);
  TYPE(wharf_kv_decision);

  BEGIN(wharf_abi_header);
  FIELD(wharf_abi_header, magic);
  FIELD(wharf_abi_header, abi_major);
  FIELD(wharf_abi_header, abi_minor);
  FIELD(wharf_abi_header, struct_size);
  FIELD(wharf_abi_header, pointer_size);
  FIELD(wharf_abi_header, size_t_size);
  FIELD(wharf_abi_header, off_t_size);
  FIELD(wharf_abi_header, reserved);
  END(wharf_abi_header);

  BEGIN(wharf_host_api);
  FIELD(wharf_host_api, struct_size);
  FIELD(wharf_host_api, reserved);
  FIELD(wharf_host_api, alloc);
  FIELD(wharf_host_api, free);
  FIELD(wharf_host_api, log);
  FIELD(wharf_host_api, session_log);
  FIELD(wharf_host_api, option_get);
  FIELD(wharf_host_api, option_count);
  FIELD(wharf_host_api, option_at);
  FIELD(wharf_host_api, instance_name);
  FIELD(wharf_host_api, instance_socket_kind);
  FIELD(wharf_host_api, session_write);
  FIELD(wharf_host_api, session_read);
  FIELD(wharf_host_api, session_close);
  FIELD(wharf_host_api, session_peer);
  FIELD(wharf_host_api, session_pending_output);
  FIELD(wharf_host_api, session_socket);
  FIELD(wharf_host_api, session_address);
  FIELD(wharf_host_api, session_accepted_client);
  FIELD(wharf_host_api, session_timer_start);
  FIELD(wharf_host_api, session_timer_cancel);
  FIELD(wharf_host_api, session_pause_input);
  FIELD(wharf_host_api, session_waker);
  FIELD(wharf_host_api, waker_post);
  FIELD(wharf_host_api, waker_release);
  FIELD(wharf_host_api, session_end_reason);
  FIELD(wharf_host_api, metric_declare);
  FIELD(wharf_host_api, metric_add);
  FIELD(wharf_host_api, metric_set);
  FIELD(wharf_host_api, instance_timer_start);
  FIELD(wharf_host_api, instance_timer_cancel);
  FIELD(wharf_host_api, session_address_text);
  FIELD(wharf_host_api, session_transport);
  FIELD(wharf_host_api, zone_declare);
  FIELD(wharf_host_api, zone_lock);
  FIELD(wharf_host_api, zone_unlock);
  FIELD(wharf_host_api, zone_alloc);
  FIELD(wharf_host_api, zone_free);
  FIELD(wharf_host_api, zone_at);
  FIELD(wharf_host_api, zone_root);
  FIELD(wharf_host_api, session_count_bytes);
  FIELD(wharf_host_api, session_tls);
  FIELD(wharf_host_api, session_handover_fd);
  FIELD(wharf_host_api, session_hand_over);
  END(wharf_host_api);

  BEGIN(wharf_host);
  FIELD(wharf_host, header);
  FIELD(wharf_host, host_version);
  FIELD(wharf_host, api);
  END(wharf_host);

  BEGIN(wharf_plugin);
  FIELD(wharf_plugin, header);
  FIELD(wharf_plugin, name);
  FIELD(wharf_plugin, version);
  FIELD(wharf_plugin, description);
  FIELD(wharf_plugin, capabilities);
  FIELD(wharf_plugin, reserved);
  FIELD(wharf_plugin, on_plugin_load);
  FIELD(wharf_plugin, on_plugin_unload);
  FIELD(wharf_plugin, on_instance_new);
  FIELD(wharf_plugin, on_instance_destroy);
  FIELD(wharf_plugin, on_session_open);
  FIELD(wharf_plugin, on_session_data);
  FIELD(wharf_plugin, on_session_writable);
  FIELD(wharf_plugin, on_session_close);
  FIELD(wharf_plugin, on_datagram);
  FIELD(wharf_plugin, serve);
  FIELD(wharf_plugin, session_export);
  FIELD(wharf_plugin, session_import);
  FIELD(wharf_plugin, resume);
  END(wharf_plugin);

  /* wharf_kv.h: what lives in the zone, which every user of the layout shares. */
  BEGIN(wharf_kv_table);
  FIELD(wharf_kv_table, magic);
  FIELD(wharf_kv_table, reserved);
  FIELD(wharf_kv_table, bucket_count);
  FIELD(wharf_kv_table, buckets);
  FIELD(wharf_kv_table, count);
  END(wharf_kv_table);

  BEGIN(wharf_kv_entry);
  FIELD(wharf_kv_entry, next);
  FIELD(wharf_kv_entry, hash);
  FIELD(wharf_kv_entry, key_len);
  FIELD(wharf_kv_entry, value_len);
  END(wharf_kv_entry);

  CONST(WHARF_ABI_MAJOR);
  CONST(WHARF_ABI_MINOR);
  STRING(WHARF_SDK_VERSION);
  CONST(WHARF_HOST_MAGIC);
  CONST(WHARF_PLUGIN_MAGIC);
  STRING(WHARF_PLUGIN_ENTRY_SYMBOL);
  CONST(WHARF_OK);
  CONST(WHARF_ERROR);
  CONST(WHARF_CLOSED);
  CONST(WHARF_UNSUPPORTED);
  CONST(WHARF_INVALID);
  CONST(WHARF_NOT_FOUND);
  CONST(WHARF_BUFFER_TOO_SMALL);
  CONST(WHARF_ENDED);
  CONST(WHARF_END_NONE);
  CONST(WHARF_END_PEER);
  CONST(WHARF_END_PLUGIN);
  CONST(WHARF_END_IDLE);
  CONST(WHARF_END_DRAIN);
  CONST(WHARF_END_SHUTDOWN);
  CONST(WHARF_END_ERROR);
  CONST(WHARF_END_MIGRATED);
  CONST(WHARF_LOG_ERROR);
  CONST(WHARF_LOG_WARNING);
  CONST(WHARF_LOG_NOTICE);
  CONST(WHARF_LOG_INFO);
  CONST(WHARF_LOG_DEBUG);
  CONST(WHARF_SOCKET_STREAM);
  CONST(WHARF_SOCKET_DATAGRAM);
  CONST(WHARF_ADDRESS_PEER);
  CONST(WHARF_ADDRESS_LOCAL);
  CONST(WHARF_ADDRESS_BALANCER);
  CONST(WHARF_BYTES_SESSION_SOCKET);
  CONST(WHARF_BYTES_OWN_CONNECTION);
  CONST(WHARF_TLS_PROTOCOL);
  CONST(WHARF_TLS_CIPHER);
  CONST(WHARF_TLS_SERVER_NAME);
  CONST(WHARF_TLS_ALPN);
  CONST(WHARF_TLS_CLIENT_SUBJECT);
  CONST(WHARF_METRIC_COUNTER);
  CONST(WHARF_METRIC_GAUGE);
  CONST(WHARF_CAP_EVENT);
  CONST(WHARF_CAP_BLOCKING);
  CONST(WHARF_CAP_STREAM);
  CONST(WHARF_CAP_DATAGRAM);
  CONST(WHARF_CAP_CONCURRENT);
  CONST(WHARF_CAP_FORK_SAFE);
  CONST(WHARF_CAP_NEVER_UNLOAD);
  CONST(WHARF_CAP_CLIENT_FIRST);
  CONST(WHARF_CAP_OWN_SOCKET);
  CONST(WHARF_KV_LAYOUT);
  CONST(WHARF_KV_MAGIC);
  CONST(WHARF_KV_KEEP);
  CONST(WHARF_KV_WRITE);
  CONST(WHARF_KV_REMOVE);
  return failures == 0 ? 0 : 1;
}
