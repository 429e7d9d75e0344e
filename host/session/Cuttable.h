// Internal. Something running a session that can be ended from outside, from
// any thread: a session served in this process, or a fork child serving one.
#pragma once

namespace wharf::session {

class Cuttable {
 public:
  virtual ~Cuttable() = default;
  // THREAD: any. Ends the session soon; a blocked read or write returns. A
  // session whose plugin owns the socket first only loses its input (the
  // plugin sees the end and may still answer, as FTP's 421 does); a second
  // call closes both ways.
  virtual void cut() = 0;
};

}  // namespace wharf::session
