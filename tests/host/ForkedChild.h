// Runs a check in a forked child: a process of its own, whose descriptor
// table and limits a test may change without touching the test runner.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <functional>

// `check`'s result in the child, or false if the child did not exit normally.
inline bool inForkedChild(const std::function<bool()> &check) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(check() ? 0 : 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
