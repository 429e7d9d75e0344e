// Internal. wharfd takes its signals synchronously: they are blocked in every
// thread (the mask is inherited) and the main thread waits for them, so no
// handler ever runs in the middle of a session.
#pragma once

#include <chrono>
#include <csignal>
#include <optional>

namespace wharf::app {

// SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2 and SIGCHLD: the signals
// wharfd takes synchronously (the master acts on all of them, a worker on the
// first three and SIGUSR1).
sigset_t daemonSignals();
// SIGTERM, SIGINT and SIGQUIT: the ones that stop wharfd.
sigset_t stopSignals();
// THREAD: any. Whether one of stopSignals() waits, blocked, for this process.
bool stopSignalWaiting();
// THREAD: main, before any other thread starts.
void blockDaemonSignals();
// THREAD: main. Returns one of daemonSignals(); 0 if `timeout` passes first.
int waitForSignal(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

}  // namespace wharf::app
