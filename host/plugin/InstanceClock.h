// Internal. An instance's timers (SDK 1.2, instance_timer_start): timers of
// the listener's plugin instance, outside any session. They run on a thread
// of the instance's own, made with its first timer, one callback at a time.
// Every mode gets the same thread: a blocking mode has no thread of its own
// to lend, and a reactor's loop must not wait on a plugin's periodic work.
// Before on_instance_destroy the thread is joined and every timer released.
#pragma once

#include <Poco/Logger.h>
#include <sys/types.h>
#include <wharf/wharf.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "plugin/TimerTable.h"

namespace wharf::plugin {

// Whether a clock may start its thread: not where the process must stay
// single-threaded to fork session processes safely (mode = fork).
enum class ClockThread { Allowed, Refused };

class InstanceClock {
 public:
  // `owner` names the listener and plugin in log lines; a crash in a
  // callback is `listener`'s.
  InstanceClock(Poco::Logger &logger, std::string owner, std::string listener, ClockThread thread);
  ~InstanceClock();  // stop()
  InstanceClock(const InstanceClock &) = delete;
  InstanceClock &operator=(const InstanceClock &) = delete;

  // THREAD: main, once on_instance_new has given the state callbacks get.
  // Timers started before (from on_instance_new) begin to run. Throws
  // std::system_error if no thread can be had for them.
  void open(void *instanceState);
  // THREAD: any, in the process that made the instance. WHARF_UNSUPPORTED
  // where the thread is refused or in another process; WHARF_ERROR: 64
  // timers run, or no thread could be had.
  wharf_status start(uint64_t delayMs, uint64_t repeatMs, wharf_instance_callback callback,
                     wharf_dropped_callback release, void *user, uint64_t *id);
  wharf_status cancel(uint64_t id);
  // THREAD: main. No callback runs after it returns; every timer is released.
  void stop();

 private:
  void run();
  bool inOwnProcess() const;
  // With mutex_ held: the thread, if timers wait and it is not there yet.
  void ensureThread();

  Poco::Logger &logger_;
  std::string owner_;
  std::string listener_;
  const pid_t process_;
  const ClockThread threadUse_;
  std::mutex mutex_;
  std::condition_variable changed_;
  TimerTable<wharf_instance_callback> timers_;
  void *state_ = nullptr;
  bool open_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wharf::plugin
