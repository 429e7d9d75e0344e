// Internal. The one way the host calls a plugin's hook or callback. wharf.h
// forbids a hook to throw, but a C++ plugin's raw hook may: what escapes is
// caught here and becomes WHARF_ERROR, with its text, so the caller ends that
// session (or logs the instance's failure) instead of the exception unwinding
// through the host. A hook that held a reactor's loop for longer than
// kStallThreshold (the loop's other sessions waited) is logged with
// listener, plugin, hook and duration.
#pragma once

#include <wharf/wharf.h>

#include <chrono>
#include <exception>
#include <string>
#include <type_traits>

#include "net/BusyLoops.h"
#include "plugin/CrashRecorder.h"

namespace wharf::plugin {

class PluginInstance;

// Longer than this on a loop that serves other sessions is a stall.
inline constexpr std::chrono::seconds kStallThreshold{1};

// Where a hook runs: for a session, on a thread of its own or on a
// reactor's loop that other sessions wait on while it runs; or for the
// instance, outside any session (on_instance_new, on_instance_destroy).
enum class HookSite { OwnThread, SharedLoop, Instance };

// Times one hook call; at its end, a stall on a shared loop is logged. A
// crash meanwhile is the hook's (CrashRecorder).
class RunningHook {
 public:
  RunningHook(const PluginInstance &instance, const char *hook, HookSite site) noexcept;
  ~RunningHook();
  RunningHook(const RunningHook &) = delete;
  RunningHook &operator=(const RunningHook &) = delete;

 private:
  const PluginInstance &instance_;
  const char *hook_;
  HookSite site_;
  std::chrono::steady_clock::time_point started_;
  HookOnThread onThread_;
  net::LoopActivity *loop_;  // that this hook's time counts against (mode = sync)
};

// The text of what a hook threw, for a log line; never empty, never throws.
std::string escapedText(std::exception_ptr thrown) noexcept;

// Calls plugin code `call` (which returns a wharf_status, or nothing: then
// WHARF_OK). If it throws, WHARF_ERROR, with what it threw in `escaped`. For
// plugin code outside an instance (the entry, plugin load and unload) and on
// the instance clock's thread; hooks go through callHook.
template <typename Call>
wharf_status caught(Call &&call, std::string &escaped) noexcept {
  try {
    if constexpr (std::is_void_v<decltype(call())>) {
      call();
      return WHARF_OK;
    } else {
      return call();
    }
  } catch (...) {
    escaped = escapedText(std::current_exception());
    return WHARF_ERROR;
  }
}

// caught(), timed by a RunningHook.
template <typename Call>
wharf_status callHook(const PluginInstance &instance, const char *hook, HookSite site, Call &&call,
                      std::string &escaped) noexcept {
  RunningHook running(instance, hook, site);
  return caught(call, escaped);
}

}  // namespace wharf::plugin
