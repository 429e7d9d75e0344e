// libFuzzer: the time plugin's wire formats. The input is an SNTP request
// as a client sends it, and its first bytes are also read as the clock (any
// 64-bit time, however far off, as a broken or hostile clock source may
// give). A reply to a valid request must be a mode 4 packet of the request's
// version whose originate timestamp is the request's transmit timestamp; the
// text formats must fit or say they did not.
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "time_formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int64_t seconds = 0;
  std::memcpy(&seconds, data, size < sizeof seconds ? size : sizeof seconds);
  long nanoseconds = size > 8 ? static_cast<long>(data[8]) * 3906250 : 0;  // < 1e9
  timespec now{static_cast<time_t>(seconds), nanoseconds};

  time_sntp_server server{1, {'G', 'P', 'S', 0}, -20};
  uint8_t reply[TIME_SNTP_PACKET];
  if (time_sntp_reply(data, size, &server, now, now, reply) == TIME_SNTP_PACKET) {
    if (size < TIME_SNTP_PACKET || (reply[0] & 7) != 4 || (reply[0] >> 3 & 7) != (data[0] >> 3 & 7))
      std::abort();
    if (std::memcmp(reply + 24, data + 40, 8) != 0) std::abort();
  }

  char text[128];
  for (size_t capacity : {sizeof text, size_t{16}, size_t{0}}) {
    size_t length = time_daytime(seconds, size > 0 ? data[0] & 1 : 1, text, capacity);
    if (length > capacity || (length > 0 && length == capacity)) std::abort();
    length = time_stamp_prefix(seconds, text, capacity);
    if (length > capacity || (length > 0 && length == capacity)) std::abort();
  }
  uint8_t wire[8];
  time_rfc868_encode(seconds, wire);
  time_ntp_encode(now, wire);
  return 0;
}
