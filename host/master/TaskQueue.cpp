#include "master/TaskQueue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <system_error>

namespace wharf::master {

TaskQueue::TaskQueue() : ready_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!ready_.valid()) throw std::system_error(errno, std::generic_category(), "eventfd");
}

std::future<std::string> TaskQueue::enqueue(std::function<void()> task) {
  std::future<std::string> done;
  {
    std::lock_guard lock(mutex_);
    if (!closed_.empty()) throw std::runtime_error(closed_);
    tasks_.push_back(Task{std::move(task), {}});
    done = tasks_.back().done.get_future();
  }
  uint64_t one = 1;
  (void)!::write(ready_.fd(), &one, sizeof one);
  return done;
}

void TaskQueue::runOnMain(std::function<void()> task) {
  if (std::string failure = enqueue(std::move(task)).get(); !failure.empty())
    throw std::runtime_error(failure);
}

bool TaskQueue::post(std::function<void()> task) noexcept {
  try {
    enqueue(std::move(task));
    return true;
  } catch (...) {  // closed, or no memory
    return false;
  }
}

void TaskQueue::runPending() {
  uint64_t count;
  (void)!::read(ready_.fd(), &count, sizeof count);
  for (;;) {
    Task task;
    {
      std::lock_guard lock(mutex_);
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    std::string failure;
    try {
      task.work();
    } catch (const std::exception &error) {
      failure = *error.what() != '\0' ? error.what() : "failed";
    } catch (...) {
      failure = "unknown error";
    }
    task.done.set_value(failure);
  }
}

void TaskQueue::reopen() {
  std::lock_guard lock(mutex_);
  closed_.clear();
}

void TaskQueue::close(const std::string &reason) {
  std::lock_guard lock(mutex_);
  closed_ = reason;
  for (auto &task : tasks_) task.done.set_value(reason);
  tasks_.clear();
}

}  // namespace wharf::master
