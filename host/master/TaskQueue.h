// Internal. Work the admin thread hands to the master's main thread: every
// change to the workers happens there, because a worker dies with the
// thread that forked it (PR_SET_PDEATHSIG) and only the main thread lives
// as long as the master.
#pragma once

#include <deque>
#include <functional>
#include <future>
#include <mutex>

#include "net/FileDescriptor.h"

namespace wharf::master {

class TaskQueue {
 public:
  TaskQueue();

  // THREAD: any but main. Runs `task` on the main thread and returns once
  // it has; if it threw, throws std::runtime_error with the same message.
  // Throws at once once closed. Only the message crosses threads: an
  // exception object shared by two threads is freed by whichever lets go
  // last, through reference counts ThreadSanitizer cannot see.
  void runOnMain(std::function<void()> task);
  // THREAD: any. Runs `task` on the main thread later (what it throws is
  // dropped: log there); false if the queue is closed.
  bool post(std::function<void()> task) noexcept;
  // THREAD: main. Runs the tasks waiting; call when fd() is readable.
  void runPending();
  // THREAD: main. Tasks waiting and to come fail with `reason`. The main
  // thread closes the queue before it waits for a thread that may be
  // waiting in runOnMain (the control threads, before an upgrade's exec).
  void close(const std::string &reason);
  // THREAD: main. Takes tasks again (an upgrade's exec failed).
  void reopen();
  int fd() const { return ready_.fd(); }

 private:
  std::future<std::string> enqueue(std::function<void()> task);

  struct Task {
    std::function<void()> work;
    std::promise<std::string> done;  // empty, or what the task threw
  };

  std::mutex mutex_;
  std::deque<Task> tasks_;
  std::string closed_;         // the reason, once closed
  net::FileDescriptor ready_;  // an eventfd, readable while tasks wait
};

}  // namespace wharf::master
