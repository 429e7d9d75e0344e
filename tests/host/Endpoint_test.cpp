#include "net/Endpoint.h"

#include <gtest/gtest.h>

using namespace wharf::net;

TEST(Endpoint, ParsesTransports) {
  EXPECT_EQ(parseTransport("tcp"), Transport::Tcp);
  EXPECT_EQ(parseTransport("unix-dgram"), Transport::UnixDgram);
  EXPECT_FALSE(parseTransport("sctp"));
  EXPECT_EQ(transportName(Transport::Udp), "udp");
}

TEST(Endpoint, ParsesIpv4Ipv6AndWildcard) {
  EXPECT_EQ(parseEndpoint(Transport::Tcp, "127.0.0.1:7007").address.toString(), "127.0.0.1:7007");
  EXPECT_EQ(parseEndpoint(Transport::Udp, "[::1]:7").address.toString(), "[::1]:7");
  EXPECT_EQ(parseEndpoint(Transport::Tcp, "*:80").address.toString(), "0.0.0.0:80");
}

TEST(Endpoint, ParsesUnixPaths) {
  Endpoint endpoint = parseEndpoint(Transport::Unix, "/run/wharf/echo.sock");
  EXPECT_EQ(endpoint.address.toString(), "/run/wharf/echo.sock");
  EXPECT_EQ(endpoint.socketType(), SOCK_STREAM);
}

TEST(Endpoint, RejectsBadAddressesWithReasons) {
  auto reason = [](Transport transport, const std::string &text) -> std::string {
    try {
      parseEndpoint(transport, text);
    } catch (const std::invalid_argument &error) {
      return error.what();
    }
    return "accepted";
  };
  EXPECT_EQ(reason(Transport::Tcp, "localhost:80"),
            "'localhost' is not a numeric IPv4 or IPv6 address");
  EXPECT_EQ(reason(Transport::Tcp, "127.0.0.1:99999"), "'99999' is not a port number (0-65535)");
  EXPECT_EQ(reason(Transport::Tcp, "127.0.0.1"), "expected host:port");
  EXPECT_EQ(reason(Transport::Tcp, "::1:80"), "an IPv6 address must be written [address]:port");
  EXPECT_EQ(reason(Transport::Tcp, "[::1]80"), "expected [IPv6]:port");
  EXPECT_EQ(reason(Transport::Unix, std::string(200, 'x')), "path longer than 107 bytes");
}

TEST(Endpoint, ConflictsOnlyWithinTheSameSocketType) {
  Endpoint tcp = parseEndpoint(Transport::Tcp, "127.0.0.1:7");
  EXPECT_TRUE(tcp.conflictsWith(parseEndpoint(Transport::Tcp, "127.0.0.1:7")));
  EXPECT_FALSE(tcp.conflictsWith(parseEndpoint(Transport::Udp, "127.0.0.1:7")));
  EXPECT_FALSE(tcp.conflictsWith(parseEndpoint(Transport::Tcp, "127.0.0.1:8")));
}

TEST(Endpoint, TheWildcardConflictsWithEveryAddressOfItsFamilyAndPort) {
  Endpoint any = parseEndpoint(Transport::Tcp, "*:7");
  EXPECT_TRUE(any.conflictsWith(parseEndpoint(Transport::Tcp, "127.0.0.1:7")));
  EXPECT_TRUE(parseEndpoint(Transport::Tcp, "10.1.2.3:7").conflictsWith(any));
  EXPECT_FALSE(any.conflictsWith(parseEndpoint(Transport::Tcp, "127.0.0.1:8")));
  EXPECT_FALSE(any.conflictsWith(parseEndpoint(Transport::Udp, "127.0.0.1:7")));
  EXPECT_FALSE(any.conflictsWith(parseEndpoint(Transport::Tcp, "[::1]:7")));  // IPv6-only
  EXPECT_TRUE(parseEndpoint(Transport::Tcp, "[::]:7")
                  .conflictsWith(parseEndpoint(Transport::Tcp, "[::1]:7")));
  EXPECT_FALSE(any.sameAddressAs(parseEndpoint(Transport::Tcp, "127.0.0.1:7")));
}

TEST(Endpoint, AUnixPathHoldsOneSocketOfEitherKind) {
  Endpoint stream = parseEndpoint(Transport::Unix, "/run/x.sock");
  EXPECT_TRUE(stream.conflictsWith(parseEndpoint(Transport::UnixDgram, "/run/x.sock")));
  EXPECT_FALSE(stream.conflictsWith(parseEndpoint(Transport::Unix, "/run/y.sock")));
}
