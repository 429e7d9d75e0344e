// Internal. Something running a session that can be ended from outside, from
// any thread: a session served in this process, or a fork child serving one.
#pragma once

#include <cstdint>

namespace wharf::session {

// Why the host cuts sessions: a reload's drain ran out (drain_timeout,
// max_generations, a removed listener), or wharfd is stopping.
enum class CutReason : uint8_t { Drain = 1, Shutdown = 2 };

class Cuttable {
 public:
  virtual ~Cuttable() = default;
  // THREAD: any. Ends the session soon; a blocked read or write returns. A
  // session whose plugin owns the socket first only loses its input (the
  // plugin sees the end and may still answer, as FTP's 421 does); a second
  // call closes both ways.
  virtual void cut(CutReason why) = 0;
};

}  // namespace wharf::session
