#include "app/Signals.h"

#include <pthread.h>

#include <csignal>
#include <initializer_list>

namespace wharf::app {
namespace {

sigset_t daemonSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGTERM, SIGINT, SIGQUIT, SIGHUP}) sigaddset(&set, signal);
  return set;
}

}  // namespace

void blockDaemonSignals() {
  std::signal(SIGPIPE, SIG_IGN);  // a vanished peer is an error status, not a death
  sigset_t set = daemonSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int waitForSignal() {
  sigset_t set = daemonSignals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  return signal;
}

}  // namespace wharf::app
