#include "plugin/CrashRecorder.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "process/CrashPage.h"

namespace wharf::plugin {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
constexpr size_t kAltStackSize = 64 * 1024;

process::CrashPageLayout *crashPage = nullptr;
pid_t worker = 0;  // a process a plugin forks shares the page, not the worker's fate
struct sigaction earlier[NSIG];
// One alternate stack for every thread: only a dying worker uses it, and
// two threads dying at once at worst spoil the record, not the death.
void *altStack = nullptr;

// Trivially constructed: static TLS, which a signal handler may read.
thread_local const std::string *runningListener = nullptr;
thread_local const char *runningHook = nullptr;
thread_local bool runningForSession = false;
thread_local bool altStackChecked = false;

void copyField(char *field, size_t size, const char *text, size_t length) noexcept {
  length = std::min(length, size - 1);
  std::memcpy(field, text, length);
  field[length] = '\0';
}

// Writes this thread's hook, if it runs one, with `signal` (0: exit).
// Async-signal-safe.
void record(int signal) noexcept {
  const std::string *listener = runningListener;
  uint32_t blank = 0;
  if (listener == nullptr || ::getpid() != worker ||
      !crashPage->written.compare_exchange_strong(blank, 2))
    return;
  crashPage->pid = worker;
  crashPage->signal = signal;
  crashPage->forSession = runningForSession ? 1 : 0;
  copyField(crashPage->listener, sizeof crashPage->listener, listener->data(), listener->size());
  copyField(crashPage->hook, sizeof crashPage->hook, runningHook, std::strlen(runningHook));
  crashPage->written.store(1, std::memory_order_release);
}

void onFatalSignal(int signal, siginfo_t *info, void *) {
  record(signal);
  ::sigaction(signal, &earlier[signal], nullptr);
  // A fault comes again when its instruction runs again on return; a sent
  // signal (kill, raise, abort) is sent again, and comes once this returns.
  if (info->si_code <= 0) ::raise(signal);
}

void useAltStack() noexcept {
  altStackChecked = true;
  stack_t current{};
  if (::sigaltstack(nullptr, &current) != 0 || !(current.ss_flags & SS_DISABLE)) return;
  stack_t stack{};
  stack.ss_sp = altStack;
  stack.ss_size = kAltStackSize;
  ::sigaltstack(&stack, nullptr);
}

}  // namespace

void recordCrashesIn(process::CrashPageLayout *page) noexcept {
  if (page == nullptr) return;
  void *stack =
      ::mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  altStack = stack == MAP_FAILED ? nullptr : stack;
  crashPage = page;
  worker = ::getpid();
  std::atexit([] { record(0); });  // a hook that calls exit()
  struct sigaction action {};
  action.sa_sigaction = onFatalSignal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  ::sigemptyset(&action.sa_mask);
  for (int signal : kFatalSignals) ::sigaction(signal, &action, &earlier[signal]);
}

HookOnThread::HookOnThread(const std::string &listener, const char *hook, bool forSession) noexcept
    : outerListener_(runningListener),
      outerHook_(runningHook),
      outerForSession_(runningForSession) {
  if (!altStackChecked && altStack != nullptr) useAltStack();
  runningHook = hook;
  runningForSession = forSession;
  runningListener = &listener;
}

HookOnThread::~HookOnThread() {
  runningListener = outerListener_;
  runningHook = outerHook_;
  runningForSession = outerForSession_;
}

}  // namespace wharf::plugin
