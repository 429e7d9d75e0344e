// A client's command, as either dialect carries it, and what parsing the
// start of the input made of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace xfer {

struct Request {
  enum class Command { Put, Get };
  Command command = Command::Get;
  std::string filename;   // as sent: Store checks it
  uint64_t filesize = 0;  // put: the bytes that follow; get: unused
};

struct Parsed {
  enum class Status {
    NeedMore,   // not all of it has come
    Complete,   // `request` (or, for a go-ahead, nothing) and `consumed` bytes
    Malformed,  // `reason`; the session ends after the reply
  };
  Status status = Status::NeedMore;
  size_t consumed = 0;
  Request request;
  std::string reason;

  static Parsed needMore() { return {}; }
  static Parsed malformed(std::string reason) {
    return {Status::Malformed, 0, {}, std::move(reason)};
  }
  static Parsed complete(size_t consumed, Request request = {}) {
    return {Status::Complete, consumed, std::move(request), {}};
  }
};

}  // namespace xfer
