// Internal. The PROXY protocol header a load balancer (HAProxy, nginx, an
// AWS NLB) puts before a connection's first byte, naming the client it
// accepted: version 1 (text) and version 2 (binary), as in HAProxy's spec
// (doc/proxy-protocol.txt). The parser is a pure function over the bytes
// received so far: it never reads past a bound (kMaxLength), never trusts a
// length it has not checked, and says when it needs more.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "net/SocketAddress.h"

namespace wharf::net::proxy {

enum class Accepted { V1, V2, Any };

// A v1 line is at most 107 bytes; a v2 header is 16 bytes and its addresses
// and TLVs. A longer header (huge TLVs) is refused.
inline constexpr size_t kMaxLength = 4096;

struct Header {
  size_t length = 0;  // bytes the header took: the connection's data starts after them
  // LOCAL (v2) or UNKNOWN (v1): the balancer speaking for itself (a health
  // check); the connection's own endpoints stand.
  bool local = false;
  SocketAddress source;       // the client, unless local
  SocketAddress destination;  // the address the client reached, unless local
};

struct Result {
  enum class Status { Incomplete, Invalid, Complete } status;
  Header header;      // when Complete
  std::string error;  // when Invalid: why, for the log
};

// Parses the start of `received` (all the bytes received so far).
Result parse(std::span<const uint8_t> received, Accepted accepted);

}  // namespace wharf::net::proxy
