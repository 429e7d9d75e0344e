// Internal. What a new program starts with: the signal mask and the
// dispositions this daemon changed survive exec(), so a child about to exec
// puts them back. Without it a program that hangs before it sets up its own
// handling ignores SIGTERM (blocked here) and SIGPIPE.
#pragma once

namespace wharf::process {

// Async-signal-safe: for a child between fork() and exec(). No signal
// blocked; SIGPIPE back to its default.
void restoreSignalDefaults() noexcept;

}  // namespace wharf::process
