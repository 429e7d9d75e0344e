// The time plugin's wire formats, with injected clocks.
#include "time_formats.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <string>

namespace {

// 2036-02-07 06:28:16 UTC: RFC 868's 32-bit counter wraps to 0.
constexpr int64_t kWrap = 2085978496;

std::string daytime(int64_t seconds, int utc) {
  char line[128];
  size_t length = time_daytime(seconds, utc, line, sizeof line);
  return std::string(line, length);
}

std::array<uint8_t, TIME_SNTP_PACKET> clientRequest(unsigned version, unsigned mode) {
  std::array<uint8_t, TIME_SNTP_PACKET> request{};
  request[0] = static_cast<uint8_t>((version << 3) | mode);
  request[2] = 6;                                                                // poll
  for (int i = 0; i < 8; ++i) request[40 + i] = static_cast<uint8_t>(0xa0 + i);  // transmit
  return request;
}

const time_sntp_server kServer = {2, {192, 0, 2, 1}, -20};

}  // namespace

TEST(TimeFormats, Rfc868CountsFrom1900) {
  EXPECT_EQ(time_rfc868_seconds(0), 2208988800u);
  uint8_t bytes[4];
  time_rfc868_encode(0, bytes);
  EXPECT_EQ(bytes[0], 0x83);
  EXPECT_EQ(bytes[1], 0xaa);
  EXPECT_EQ(bytes[2], 0x7e);
  EXPECT_EQ(bytes[3], 0x80);
}

TEST(TimeFormats, Rfc868WrapsModulo2To32In2036) {
  EXPECT_EQ(time_rfc868_seconds(kWrap - 1), 0xffffffffu);
  EXPECT_EQ(time_rfc868_seconds(kWrap), 0u);
  EXPECT_EQ(time_rfc868_seconds(kWrap + 4), 4u);
  uint8_t bytes[4];
  time_rfc868_encode(kWrap + 0x01020304, bytes);
  EXPECT_EQ(bytes[0], 1);
  EXPECT_EQ(bytes[3], 4);
}

TEST(TimeFormats, DaytimeUsesRfc867sSuggestedForm) {
  // RFC 867's example instant, 1982-02-22 17:37:43 (here in UTC).
  EXPECT_EQ(daytime(383247463, 1), "Monday, February 22, 1982 17:37:43-UTC\r\n");
  setenv("TZ", "America/Los_Angeles", 1);
  tzset();
  EXPECT_EQ(daytime(383247463 + 8 * 3600, 0), "Monday, February 22, 1982 17:37:43-PST\r\n");
  setenv("TZ", "UTC", 1);
  tzset();
  char tiny[8];
  EXPECT_EQ(time_daytime(0, 1, tiny, sizeof tiny), 0u);
}

TEST(TimeFormats, StampPrefixIsCtimeInBrackets) {
  setenv("TZ", "UTC", 1);
  tzset();
  char prefix[64];
  // ctime pads a one-digit day with a space: "Nov  2".
  size_t length = time_stamp_prefix(1793599200, prefix, sizeof prefix);  // 2026-11-02 06:00 UTC
  EXPECT_EQ(std::string(prefix, length), "[Mon Nov  2 06:00:00 2026] ");
}

TEST(TimeFormats, NtpTimestampsCarryTheFraction) {
  uint8_t bytes[8];
  time_ntp_encode({kWrap + 1, 500000000}, bytes);
  EXPECT_EQ(bytes[3], 1);     // era 1, second 1
  EXPECT_EQ(bytes[4], 0x80);  // half a second
  EXPECT_EQ(bytes[5] | bytes[6] | bytes[7], 0);
}

TEST(TimeFormats, SntpReplyEchoesTransmitAsOriginate) {
  auto request = clientRequest(4, 3);
  uint8_t reply[TIME_SNTP_PACKET];
  timespec received{1794816000, 250000000};
  timespec transmitted{1794816000, 750000000};
  ASSERT_EQ(time_sntp_reply(request.data(), request.size(), &kServer, received, transmitted, reply),
            48u);
  EXPECT_EQ(reply[0], (0 << 6) | (4 << 3) | 4);  // LI 0, version 4, mode 4 (server)
  EXPECT_EQ(reply[1], 2);                        // stratum
  EXPECT_EQ(reply[2], 6);                        // poll echoed
  EXPECT_EQ(static_cast<int8_t>(reply[3]), -20);
  EXPECT_EQ(reply[12], 192);  // reference id
  EXPECT_EQ(0, memcmp(reply + 24, request.data() + 40, 8));
  uint8_t expected[8];
  time_ntp_encode(received, expected);
  EXPECT_EQ(0, memcmp(reply + 32, expected, 8));
  time_ntp_encode(transmitted, expected);
  EXPECT_EQ(0, memcmp(reply + 40, expected, 8));
}

TEST(TimeFormats, SntpAnswersVersion3ClientsWithVersion3) {
  auto request = clientRequest(3, 3);
  uint8_t reply[TIME_SNTP_PACKET];
  ASSERT_EQ(time_sntp_reply(request.data(), request.size(), &kServer, {}, {}, reply), 48u);
  EXPECT_EQ((reply[0] >> 3) & 7, 3);
}

TEST(TimeFormats, SntpIgnoresWhatIsNotAClientRequest) {
  uint8_t reply[TIME_SNTP_PACKET];
  auto server = clientRequest(4, 4);
  auto symmetric = clientRequest(4, 1);
  auto badVersion = clientRequest(0, 3);
  auto good = clientRequest(4, 3);
  EXPECT_EQ(time_sntp_reply(server.data(), 48, &kServer, {}, {}, reply), 0u);
  EXPECT_EQ(time_sntp_reply(symmetric.data(), 48, &kServer, {}, {}, reply), 0u);
  EXPECT_EQ(time_sntp_reply(badVersion.data(), 48, &kServer, {}, {}, reply), 0u);
  EXPECT_EQ(time_sntp_reply(good.data(), 47, &kServer, {}, {}, reply), 0u);
}
