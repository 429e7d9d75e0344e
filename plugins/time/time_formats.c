#include "time_formats.h"

#include <string.h>

static void put_be32(uint8_t *out, uint32_t value) {
  out[0] = (uint8_t)(value >> 24);
  out[1] = (uint8_t)(value >> 16);
  out[2] = (uint8_t)(value >> 8);
  out[3] = (uint8_t)value;
}

uint32_t time_rfc868_seconds(int64_t unix_seconds) {
  /* Unsigned arithmetic is modulo 2^32, which is RFC 868's rule. */
  return (uint32_t)((uint64_t)unix_seconds + TIME_EPOCH_1900_TO_1970);
}

void time_rfc868_encode(int64_t unix_seconds, uint8_t out[4]) {
  put_be32(out, time_rfc868_seconds(unix_seconds));
}

static int broken_down(int64_t unix_seconds, int utc, struct tm *out) {
  time_t seconds = (time_t)unix_seconds;
  return (utc ? gmtime_r(&seconds, out) : localtime_r(&seconds, out)) != NULL;
}

size_t time_daytime(int64_t unix_seconds, int utc, char *out, size_t capacity) {
  struct tm fields;
  if (!broken_down(unix_seconds, utc, &fields)) return 0;
  return strftime(out, capacity,
                  utc ? "%A, %B %d, %Y %H:%M:%S-UTC\r\n" : "%A, %B %d, %Y %H:%M:%S-%Z\r\n",
                  &fields);
}

size_t time_stamp_prefix(int64_t unix_seconds, char *out, size_t capacity) {
  struct tm fields;
  if (!broken_down(unix_seconds, 0, &fields)) return 0;
  return strftime(out, capacity, "[%a %b %e %H:%M:%S %Y] ", &fields);
}

void time_ntp_encode(struct timespec when, uint8_t out[8]) {
  put_be32(out, time_rfc868_seconds((int64_t)when.tv_sec));
  put_be32(out + 4, (uint32_t)(((uint64_t)when.tv_nsec << 32) / 1000000000u));
}

size_t time_sntp_reply(const uint8_t *request, size_t request_len, const time_sntp_server *server,
                       struct timespec received, struct timespec transmitted,
                       uint8_t reply[TIME_SNTP_PACKET]) {
  enum { MODE_CLIENT = 3, MODE_SERVER = 4 };
  if (request_len < TIME_SNTP_PACKET) return 0;
  unsigned version = (request[0] >> 3) & 7u;
  unsigned mode = request[0] & 7u;
  if (mode != MODE_CLIENT || version < 1 || version > 4) return 0;

  memset(reply, 0, TIME_SNTP_PACKET);
  reply[0] = (uint8_t)((0u << 6) | (version << 3) | MODE_SERVER); /* LI 0: no warning */
  reply[1] = server->stratum;
  reply[2] = request[2]; /* poll: echo the client's */
  reply[3] = (uint8_t)server->precision;
  /* root delay 0; root dispersion 2^-10 s (we serve the system clock) */
  put_be32(reply + 8, 0x00000040u);
  memcpy(reply + 12, server->reference_id, 4);
  struct timespec reference = received;
  reference.tv_nsec = 0;
  time_ntp_encode(reference, reply + 16);
  memcpy(reply + 24, request + 40, 8); /* originate = the client's transmit */
  time_ntp_encode(received, reply + 32);
  time_ntp_encode(transmitted, reply + 40);
  return TIME_SNTP_PACKET;
}
