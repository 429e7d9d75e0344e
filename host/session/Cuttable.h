// Internal. Something running a session that can be ended from outside, from
// any thread: a session served in this process, or a fork child serving one.
#pragma once

namespace wharf::session {

class Cuttable {
 public:
  virtual ~Cuttable() = default;
  // THREAD: any. Ends the session soon; a blocked read or write returns.
  virtual void cut() = 0;
};

}  // namespace wharf::session
