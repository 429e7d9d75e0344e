#include "process/SignalDefaults.h"

#include <csignal>

namespace wharf::process {

void restoreSignalDefaults() noexcept {
  struct sigaction initial {};
  initial.sa_handler = SIG_DFL;
  sigemptyset(&initial.sa_mask);
  ::sigaction(SIGPIPE, &initial, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace wharf::process
