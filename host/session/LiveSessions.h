// Internal. The sessions a plugin generation is running, so a shutdown or a
// drain past its deadline (or SIGQUIT) can cut them. THREAD: any; internally
// locked.
#pragma once

#include <mutex>
#include <optional>
#include <set>

#include "session/Cuttable.h"

namespace wharf::session {

class LiveSessions {
 public:
  // Registers a session for its lifetime. Declare it after the session, so
  // it unregisters before the session closes its socket.
  class Entry {
   public:
    Entry(LiveSessions &registry, Cuttable &session);
    ~Entry();
    Entry(const Entry &) = delete;
    Entry &operator=(const Entry &) = delete;

   private:
    LiveSessions &registry_;
    Cuttable &session_;
  };

  // Cuts every live session, and every one registered from now on.
  // Returns how many were live.
  size_t cutAll(CutReason why);
  // How many are live now.
  size_t size();

 private:
  std::mutex mutex_;
  std::set<Cuttable *> sessions_;
  std::optional<CutReason> cutting_;  // set once cutAll ran
};

}  // namespace wharf::session
