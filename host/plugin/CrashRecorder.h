// Internal. Which plugin hook each thread of a worker runs, for its crash page
// (process/CrashPage.h): a fatal signal the process brought on itself (a
// fault, raise, abort) on a thread inside a hook writes the hook's listener
// and name there, then takes the signal's earlier course (the default: the
// worker dies; under a sanitizer, its report); so does a hook that calls
// exit(). A signal another process sent blames no hook. A hook that
// overflows its stack is recorded too: each thread gets an alternate signal
// stack of its own before its first hook, unless it has one.
#pragma once

#include <string>

namespace wharf::process {
struct CrashPageLayout;
}

namespace wharf::plugin {

// THREAD: main, once, before any hook runs. Processes forked later (fork
// helpers, session processes, a plugin's) never write the page.
void recordCrashesIn(process::CrashPageLayout *page) noexcept;

// While it lives, this thread runs `hook` of `listener`'s plugin (both
// outlive it), for a session or not. Hooks nest: the outer one is the
// thread's again at its end.
class HookOnThread {
 public:
  HookOnThread(const std::string &listener, const char *hook, bool forSession) noexcept;
  ~HookOnThread();
  HookOnThread(const HookOnThread &) = delete;
  HookOnThread &operator=(const HookOnThread &) = delete;

 private:
  const std::string *outerListener_;
  const char *outerHook_;
  bool outerForSession_;
};

}  // namespace wharf::plugin
