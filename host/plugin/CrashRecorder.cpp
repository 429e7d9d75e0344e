#include "plugin/CrashRecorder.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "process/CrashPage.h"

namespace wharf::plugin {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
constexpr size_t kAltStackSize = 64 * 1024;

process::CrashPageLayout *crashPage = nullptr;
pid_t worker = 0;  // a process a plugin forks shares the page, not the worker's fate
struct sigaction earlier[NSIG];

// Trivially constructed: static TLS, which a signal handler may read.
thread_local const std::string *runningListener = nullptr;
thread_local const char *runningHook = nullptr;
thread_local bool runningForSession = false;

// Alternate signal stacks, one per thread that runs hooks (any handler with
// SA_ONSTACK uses it, a plugin runtime's too: two threads must never share
// one), each above a guard page. Kept for the next thread when one ends:
// `mode = thread` starts a thread per connection. Never freed, so no thread
// ending after exit() began finds the pool gone.
struct AltStackPool {
  std::mutex mutex;
  std::vector<void *> free;
};

AltStackPool &altStackPool() {
  static auto *pool = new AltStackPool;
  return *pool;
}

class ThreadAltStack {
 public:
  ThreadAltStack() = default;
  ThreadAltStack(const ThreadAltStack &) = delete;
  ThreadAltStack &operator=(const ThreadAltStack &) = delete;
  ~ThreadAltStack() {
    if (base_ == nullptr) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    ::sigaltstack(&off, nullptr);
    release();
  }

  // Installs one on this thread unless it has one already (a sanitizer's).
  void install() noexcept {
    stack_t current{};
    if (::sigaltstack(nullptr, &current) != 0 || !(current.ss_flags & SS_DISABLE)) return;
    auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    try {
      std::lock_guard lock(altStackPool().mutex);
      if (!altStackPool().free.empty()) {
        base_ = altStackPool().free.back();
        altStackPool().free.pop_back();
      }
    } catch (...) {  // the pool's lock failed: a new one is mapped
    }
    if (base_ == nullptr) {
      void *mapped = ::mmap(nullptr, page + kAltStackSize, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mapped == MAP_FAILED) return;
      if (::mprotect(mapped, page, PROT_NONE) != 0) {
        ::munmap(mapped, page + kAltStackSize);
        return;
      }
      base_ = mapped;
    }
    stack_t stack{};
    stack.ss_sp = static_cast<char *>(base_) + page;
    stack.ss_size = kAltStackSize;
    if (::sigaltstack(&stack, nullptr) != 0) release();
  }

 private:
  void release() noexcept {
    try {
      std::lock_guard lock(altStackPool().mutex);
      altStackPool().free.push_back(base_);
    } catch (...) {  // no memory to keep it: it stays mapped, unused
    }
    base_ = nullptr;
  }

  void *base_ = nullptr;
};

thread_local ThreadAltStack threadAltStack;
// Trivial, so every hook's check of it skips the non-trivial thread_local's
// initialisation guard.
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

// A fault the kernel raised for an instruction that runs again when the
// handler returns, and so faults again, under the earlier action.
bool refaults(int signal, const siginfo_t *info) {
  if (info->si_code <= 0 || signal == SIGSYS || signal == SIGABRT) return false;
  return !(signal == SIGBUS && (info->si_code == BUS_MCEERR_AO || info->si_code == BUS_MCEERR_AR));
}

void onFatalSignal(int signal, siginfo_t *info, void *) {
  // Only this process's own doing: an operator's `kill -ABRT` for a core
  // lands on a thread at random, which blames no hook.
  if (info->si_code > 0 || info->si_pid == ::getpid()) record(signal);
  ::sigaction(signal, &earlier[signal], nullptr);
  // A signal that was sent (kill, raise, abort), or that returning would not
  // bring back (a seccomp trap), is raised again: it comes once this returns.
  if (!refaults(signal, info)) ::raise(signal);
}

}  // namespace

void recordCrashesIn(process::CrashPageLayout *page) noexcept {
  if (page == nullptr) return;
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
  if (crashPage != nullptr && !altStackChecked) {
    altStackChecked = true;
    threadAltStack.install();
  }
  // The listener goes last, so a signal sees it only with the rest in place.
  runningListener = nullptr;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  runningHook = hook;
  runningForSession = forSession;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  runningListener = &listener;
}

HookOnThread::~HookOnThread() {
  runningListener = nullptr;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  runningHook = outerHook_;
  runningForSession = outerForSession_;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  runningListener = outerListener_;
}

}  // namespace wharf::plugin
