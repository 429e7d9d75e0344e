// Internal. Waiting for a short-lived child that reports on a pipe (a
// config check's plugin loading, an upgrade's check and rehearsal): its
// output is read until it closes it, within a deadline past which the child
// and its process group are killed, so no wait on it is unbounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

#include "net/FileDescriptor.h"

namespace wharf::process {

struct ChildEnd {
  int status = 0;            // as waitpid gives it
  bool late = false;         // killed at the deadline
  bool interrupted = false;  // killed because the waiter asked
  std::string output;        // what it wrote, its last 64 KiB

  bool succeeded() const;  // exited 0, on its own
  // "exited with status 3", "killed by signal 11 (Segmentation fault)",
  // "did not finish in 60 s", "stopped: wharfd is stopping".
  std::string outcome(std::chrono::seconds allowed) const;
};

// THREAD: the one that started `child`. Reads `output` (the pipe's read end)
// and reaps `child` once it exits, by `deadline` (else it is killed: late).
// `whileWaiting` runs at least every 100 ms; when it returns false, the
// child is killed at once. A child reaped elsewhere counts as exit 127.
ChildEnd awaitChild(pid_t child, net::FileDescriptor output,
                    std::chrono::steady_clock::time_point deadline,
                    const std::function<bool()> &whileWaiting = {});

// The last `count` non-empty lines of `output`, joined by " / ".
std::string lastLines(const std::string &output, size_t count);

}  // namespace wharf::process
