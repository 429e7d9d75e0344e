// The socketserver tutorial's protocol: a 4-byte signed length (the sender's
// byte order, struct.pack('i', n): little-endian by default), then that many
// bytes of UTF-8 JSON, {"cmd": "put"|"get", "filename": "...", "filesize": N}.
// A put's bytes follow at once; a get is answered by a framed header, then
// the bytes. Errors are framed {"error": "..."}.
#pragma once

#include "Dialect.h"

namespace xfer {

class FramedDialect final : public Dialect {
 public:
  FramedDialect(ByteOrder byteOrder, size_t maxHeader)
      : byteOrder_(byteOrder), maxHeader_(maxHeader) {}

  Parsed parseRequest(std::string_view input) const override;
  Parsed parseGoAhead(std::string_view) const override { return Parsed::complete(0); }
  bool putDataFollowsHeader() const override { return true; }

  std::string putAccepted() const override { return {}; }
  std::string getAccepted(const std::string &filename, uint64_t size) const override;
  std::string getRefused(std::string_view reason) const override { return refused(reason); }
  std::string refused(std::string_view reason) const override;

 private:
  std::string framed(const std::string &json) const;
  Request requestFrom(const std::string &json) const;  // throws std::invalid_argument

  ByteOrder byteOrder_;
  size_t maxHeader_;
};

}  // namespace xfer
