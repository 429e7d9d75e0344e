// A client's command, as either dialect carries it, and what parsing the
// start of the input made of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xfer {

struct Request {
  enum class Command { Put, Get };
  Command command = Command::Get;
  std::string filename;   // as sent: Store checks it
  uint64_t filesize = 0;  // put: the bytes that follow; get: unused
};

// The command a header names ("put", "get"), or nothing.
inline std::optional<Request::Command> commandNamed(std::string_view name) {
  if (name == "put") return Request::Command::Put;
  if (name == "get") return Request::Command::Get;
  return std::nullopt;
}
constexpr const char *kUnknownCommand = "unknown cmd (expected put or get)";

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
