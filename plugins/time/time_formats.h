/*
 * The time services' wire formats, as pure functions of a given time, so
 * tests can inject any clock (2036's RFC 868 wrap included).
 */
#ifndef WHARF_PLUGINS_TIME_FORMATS_H
#define WHARF_PLUGINS_TIME_FORMATS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds from 1900-01-01 (the NTP and RFC 868 epoch) to 1970-01-01. */
#define TIME_EPOCH_1900_TO_1970 2208988800u

/* RFC 868: seconds since 1900-01-01 00:00 UTC, modulo 2^32 (the counter
 * wraps on 2036-02-07 06:28:16 UTC; clients resolve the era). */
uint32_t time_rfc868_seconds(int64_t unix_seconds);
/* Writes the 4 bytes of RFC 868, big-endian. */
void time_rfc868_encode(int64_t unix_seconds, uint8_t out[4]);

/* RFC 867: "Sunday, November 22, 2026 06:20:00-UTC\r\n" (the RFC's suggested
 * form), in UTC or the local zone. Returns the length, 0 if it did not fit. */
size_t time_daytime(int64_t unix_seconds, int utc, char *out, size_t capacity);

/* The timestamp service: "[Sun Nov 22 06:20:00 2026] " (ctime form, local
 * zone, as the classic tutorial's server). Returns the length, 0 if it did not fit. */
size_t time_stamp_prefix(int64_t unix_seconds, char *out, size_t capacity);

/* NTP 64-bit timestamp (era-relative seconds . 2^-32 fraction), big-endian. */
void time_ntp_encode(struct timespec when, uint8_t out[8]);

typedef struct time_sntp_server {
  uint8_t stratum;         /* 1..15 */
  uint8_t reference_id[4]; /* ASCII code at stratum 1, an IPv4 address above */
  int8_t precision;        /* log2 seconds */
} time_sntp_server;

#define TIME_SNTP_PACKET 48

/* Builds an SNTPv4 server reply (mode 4) to `request`: the client's transmit
 * timestamp becomes the originate timestamp, `received` and `transmitted`
 * are the receive and transmit timestamps. Returns 0 when the request must be
 * ignored (shorter than 48 bytes, not mode 3 client, version not 1..4),
 * else TIME_SNTP_PACKET. */
size_t time_sntp_reply(const uint8_t *request, size_t request_len, const time_sntp_server *server,
                       struct timespec received, struct timespec transmitted,
                       uint8_t reply[TIME_SNTP_PACKET]);

#ifdef __cplusplus
}
#endif

#endif
