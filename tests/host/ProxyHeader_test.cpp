#include "net/ProxyHeader.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

using namespace wharf::net::proxy;
using Status = Result::Status;

namespace {

std::vector<uint8_t> bytes(const std::string &text) {
  return {text.begin(), text.end()};
}

// A v2 PROXY header for TCP over IPv4 from 192.0.2.7:40112 to 198.51.100.1:7, then `tlvs`.
std::vector<uint8_t> v2Inet(const std::vector<uint8_t> &tlvs = {}, uint8_t versionCommand = 0x21) {
  std::vector<uint8_t> header = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,           0x0A,
                                 0x51, 0x55, 0x49, 0x54, 0x0A, versionCommand, 0x11};
  size_t length = 12 + tlvs.size();
  header.push_back(static_cast<uint8_t>(length >> 8));
  header.push_back(static_cast<uint8_t>(length));
  for (uint8_t b : {192, 0, 2, 7, 198, 51, 100, 1, 0x9C, 0xB0, 0x00, 0x07}) header.push_back(b);
  header.insert(header.end(), tlvs.begin(), tlvs.end());
  return header;
}

}  // namespace

TEST(ProxyHeader, V1NamesTheClientAndLeavesTheDataAfterIt) {
  auto received = bytes("PROXY TCP4 192.0.2.7 198.51.100.1 40112 7\r\nhello");
  Result result = parse(received, Accepted::Any);
  ASSERT_EQ(result.status, Status::Complete) << result.error;
  EXPECT_EQ(result.header.length, received.size() - 5);
  EXPECT_FALSE(result.header.local);
  EXPECT_EQ(result.header.source.toString(), "192.0.2.7:40112");
  EXPECT_EQ(result.header.destination.toString(), "198.51.100.1:7");
  result = parse(bytes("PROXY TCP6 2001:db8::7 2001:db8::1 40112 7\r\n"), Accepted::V1);
  ASSERT_EQ(result.status, Status::Complete) << result.error;
  EXPECT_EQ(result.header.source.toString(), "[2001:db8::7]:40112");
}

TEST(ProxyHeader, V1UnknownIsTheBalancerItself) {
  Result result = parse(bytes("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), Accepted::V1);
  ASSERT_EQ(result.status, Status::Complete);
  EXPECT_TRUE(result.header.local);
}

TEST(ProxyHeader, V1RefusesWhatIsNotExactlyTheSpec) {
  for (const char *line :
       {"PROXY TCP4 192.0.2.7 198.51.100.1 40112\r\n",
        "PROXY TCP4 192.0.2.7 198.51.100.1 1 2 3\r\n",
        "PROXY TCP4 2001:db8::7 198.51.100.1 1 2\r\n",
        "PROXY TCP4 192.0.2.7 198.51.100.1 65536 7\r\n",
        "PROXY TCP4 192.0.2.7 198.51.100.1 0400 7\r\n", "PROXY UDP4 192.0.2.7 198.51.100.1 1 7\r\n",
        "PROXY TCP4 192.0.2.256 198.51.100.1 1 7\r\n", "GET / HTTP/1.0\r\n", "proxy TCP4\r\n"})
    EXPECT_EQ(parse(bytes(line), Accepted::Any).status, Status::Invalid) << line;
  EXPECT_EQ(parse(bytes("PROXY TCP4 " + std::string(120, '1')), Accepted::V1).status,
            Status::Invalid);  // no CRLF within 107 bytes
}

TEST(ProxyHeader, EveryPrefixOfAHeaderIsIncomplete) {
  for (const auto &whole : {bytes("PROXY TCP4 192.0.2.7 198.51.100.1 40112 7\r\n"),
                            v2Inet({0x04, 0x00, 0x02, 'o', 'k'})}) {
    for (size_t cut = 1; cut < whole.size(); ++cut) {
      EXPECT_EQ(parse(std::span(whole.data(), cut), Accepted::Any).status, Status::Incomplete)
          << cut;
    }
    EXPECT_EQ(parse(whole, Accepted::Any).status, Status::Complete);
  }
}

TEST(ProxyHeader, V2NamesTheClientAndSkipsItsTlvs) {
  auto received = v2Inet({0x04, 0x00, 0x03, 'a', 'b', 'c', 0x01, 0x00, 0x00});
  received.push_back('x');
  Result result = parse(received, Accepted::V2);
  ASSERT_EQ(result.status, Status::Complete) << result.error;
  EXPECT_EQ(result.header.length, received.size() - 1);
  EXPECT_EQ(result.header.source.toString(), "192.0.2.7:40112");
  EXPECT_EQ(result.header.destination.toString(), "198.51.100.1:7");
  EXPECT_EQ(parse(v2Inet({}, 0x20), Accepted::Any).header.local, true);  // LOCAL
}

TEST(ProxyHeader, V2RefusesBadVersionsCommandsLengthsAndTlvs) {
  EXPECT_EQ(parse(v2Inet({}, 0x11), Accepted::V2).status, Status::Invalid);  // version 1
  EXPECT_EQ(parse(v2Inet({}, 0x22), Accepted::V2).status, Status::Invalid);  // command 2
  EXPECT_EQ(parse(v2Inet({0x04, 0x00, 0x09, 'a'}), Accepted::V2).status, Status::Invalid);
  auto huge = v2Inet();
  huge[14] = 0xFF;  // 65 KB of addresses and TLVs announced
  Result result = parse(huge, Accepted::V2);
  EXPECT_EQ(result.status, Status::Invalid);
  EXPECT_EQ(result.error, "v2 header of 65308 bytes (at most 4096)");
  auto shortInet = v2Inet();
  shortInet[15] = 4;  // IPv4 needs 12 bytes of addresses
  EXPECT_EQ(parse(shortInet, Accepted::V2).status, Status::Invalid);
  EXPECT_EQ(parse(v2Inet(), Accepted::V1).status, Status::Invalid);  // not the version asked for
  EXPECT_EQ(parse(bytes("PROXY TCP4 192.0.2.7 198.51.100.1 1 7\r\n"), Accepted::V2).status,
            Status::Invalid);
}

TEST(ProxyHeader, RandomBytesNeverReadPastTheirEnd) {
  std::mt19937 random(18);
  auto seed = v2Inet({0x04, 0x00, 0x02, 'o', 'k'});
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> mutated = round % 2 ? seed : bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
    for (int flips = 0; flips < 3; ++flips)
      mutated[random() % mutated.size()] = static_cast<uint8_t>(random());
    mutated.resize(random() % (mutated.size() + 1));
    Result result = parse(mutated, Accepted::Any);  // ASan checks every read
    if (result.status == Status::Complete) {
      EXPECT_LE(result.header.length, mutated.size());
    }
  }
}
