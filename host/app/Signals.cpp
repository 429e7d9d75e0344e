#include "app/Signals.h"

#include <pthread.h>

#include <cerrno>
#include <csignal>
#include <initializer_list>

namespace wharf::app {

sigset_t daemonSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD})
    sigaddset(&set, signal);
  return set;
}

sigset_t stopSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGTERM, SIGINT, SIGQUIT}) sigaddset(&set, signal);
  return set;
}

bool stopSignalWaiting() {
  sigset_t pending, stops = stopSignals(), both;
  ::sigpending(&pending);
  ::sigandset(&both, &pending, &stops);
  return ::sigisemptyset(&both) == 0;
}

void blockDaemonSignals() {
  std::signal(SIGPIPE, SIG_IGN);  // a vanished peer is an error status, not a death
  sigset_t set = daemonSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int waitForSignal(std::optional<std::chrono::milliseconds> timeout) {
  sigset_t set = daemonSignals();
  if (!timeout) {
    int signal = 0;
    while (sigwait(&set, &signal) != 0) {
    }
    return signal;
  }
  timespec wait{static_cast<time_t>(timeout->count() / 1000),
                static_cast<long>(timeout->count() % 1000 * 1000000)};
  for (;;) {
    int signal = sigtimedwait(&set, nullptr, &wait);
    if (signal > 0) return signal;
    if (errno == EAGAIN) return 0;
  }
}

}  // namespace wharf::app
