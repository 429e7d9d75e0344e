// The selectors tutorial's protocol: a text header "cmd|filename|filesize".
// A put is answered "OK", then its bytes follow; a get is answered
// "YES|size" or "NO|0", and after the client's "second_active" the bytes
// follow. The header has no terminator (the tutorial's client sends it in one
// call and waits for the reply), so a header is what has come when a read
// returns, up to a newline if one is sent. Other refusals are "NO|reason".
#pragma once

#include "Dialect.h"

namespace xfer {

class PipeDialect final : public Dialect {
 public:
  explicit PipeDialect(size_t maxHeader) : maxHeader_(maxHeader) {}

  Parsed parseRequest(std::string_view input) const override;
  Parsed parseGoAhead(std::string_view input) const override;
  bool putDataFollowsHeader() const override { return false; }

  std::string putAccepted() const override { return "OK"; }
  std::string getAccepted(const std::string &, uint64_t size) const override {
    return "YES|" + std::to_string(size);
  }
  std::string getRefused(std::string_view) const override { return "NO|0"; }
  std::string refused(std::string_view reason) const override {
    return "NO|" + std::string(reason);
  }

 private:
  size_t maxHeader_;
};

}  // namespace xfer
