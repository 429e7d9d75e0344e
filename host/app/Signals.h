// Internal. wharfd takes its signals synchronously: they are blocked in every
// thread (the mask is inherited) and the main thread waits for them, so no
// handler ever runs in the middle of a session.
#pragma once

#include <chrono>
#include <optional>

namespace wharf::app {

// THREAD: main, before any other thread starts.
void blockDaemonSignals();
// THREAD: main. Returns SIGTERM, SIGINT, SIGQUIT or SIGHUP; 0 if `timeout`
// passes first.
int waitForSignal(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

}  // namespace wharf::app
