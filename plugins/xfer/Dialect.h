// How one of the tutorials' protocols frames commands and replies. The
// conversation (Conversation) is the same for both; a dialect only reads
// headers and words replies.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "Request.h"
#include "XferOptions.h"

namespace xfer {

class Dialect {
 public:
  virtual ~Dialect() = default;

  // A command at the start of `input`, which holds at most the header limit
  // and a little more: a header that has not ended by then is Malformed.
  virtual Parsed parseRequest(std::string_view input) const = 0;
  // After a get's acceptance, what the client must send before the file
  // follows (Complete with consumed 0 when nothing is needed).
  virtual Parsed parseGoAhead(std::string_view input) const = 0;
  // True when a put's bytes follow its header without waiting for a reply:
  // a refused put then ends the session (its bytes cannot be told from commands).
  virtual bool putDataFollowsHeader() const = 0;

  // Replies; an empty one is not sent.
  virtual std::string putAccepted() const = 0;
  virtual std::string getAccepted(const std::string &filename, uint64_t size) const = 0;
  // A get that finds nothing to send; the session goes on.
  virtual std::string getRefused(std::string_view reason) const = 0;
  // Any other refusal: a bad header, a bad name or size, a failed store.
  virtual std::string refused(std::string_view reason) const = 0;

  static std::unique_ptr<Dialect> make(const XferOptions &options);
};

}  // namespace xfer
