// Internal. A page a worker shares with its master (a memfd the master makes,
// which the worker finds on descriptor kCrashPageFd): when a fatal signal hits
// a worker thread while it runs a plugin's hook, the worker writes there which
// listener and hook it was, before it dies. After reaping the worker the
// master reads it, to back off that listener alone instead of the whole
// worker. A plugin can write the page too: the master takes only a listener
// of that worker from it (one the plugin could harm anyway), and does not
// believe one that was paused for the worker's whole life (CrashPauses).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "net/FileDescriptor.h"

namespace wharf::process {

// Where a worker finds its crash page at exec (its channel is on 3).
constexpr int kCrashPageFd = 4;

// The page's layout; names are cut to fit, ending in a NUL.
struct CrashPageLayout {
  std::atomic<uint32_t> written;  // 1 once the fields below are complete
  int32_t pid;                    // that wrote them (a process it forked shares the page)
  int32_t signal;
  int32_t forSession;  // 1: the hook ran for one of the listener's sessions
  char listener[256];
  char hook[64];
};
static_assert(std::atomic<uint32_t>::is_always_lock_free, "written from a signal handler");

struct CrashRecord {
  std::string listener;
  std::string hook;
  int signal;  // 0: the hook called exit()
  // The hook ran for a session: a listener that waits before accepting
  // again runs it no more. (Instance hooks and timers run regardless.)
  bool forSession;
};

// The master's side: one page for one worker.
class CrashPage {
 public:
  // Throws std::system_error if no memfd or mapping can be had.
  CrashPage();
  // One an earlier master made (handed over by a binary upgrade, with its
  // worker); throws std::system_error if `page` is not one.
  explicit CrashPage(net::FileDescriptor page);
  ~CrashPage();
  CrashPage(const CrashPage &) = delete;
  CrashPage &operator=(const CrashPage &) = delete;

  // For the worker's exec (close-on-exec here).
  int fd() const { return fd_.fd(); }
  // What worker `pid` wrote before dying; nullopt if it wrote nothing.
  std::optional<CrashRecord> record(pid_t pid) const;

 private:
  net::FileDescriptor fd_;
  CrashPageLayout *page_;
};

// The worker's side: its page mapped from `fd` (which is then closed), or
// nullptr where `fd` is not one (a worker started by hand).
CrashPageLayout *mapCrashPage(int fd) noexcept;

}  // namespace wharf::process
