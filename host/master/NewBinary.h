// Internal. The binary a binary upgrade switches to, opened once when the
// upgrade is asked for: its check, its rehearsal and the exec all run that
// one file, whatever lies at the path meanwhile (a package unpacking a
// newer build while this one is being proven).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "net/FileDescriptor.h"

namespace wharf::master {

class NewBinary {
 public:
  // Throws std::runtime_error naming the path and why it cannot be opened.
  explicit NewBinary(std::filesystem::path path);

  const std::filesystem::path &path() const { return path_; }
  // Open in the process exec() makes (a script's interpreter reads it by
  // /dev/fd): that one closes it.
  int fd() const { return file_.fd(); }

  // THREAD: main (its children die with the thread that started them).
  // Starts it with `arguments`, this environment without the service
  // manager's variables and the zone space, plus `variables` (NAME=VALUE), stdout and stderr on
  // `output`, and the `kept` descriptors open at their numbers; in a process
  // group of its own, with the signal defaults. Throws if fork fails.
  pid_t start(const std::vector<std::string> &arguments, const std::vector<std::string> &variables,
              const std::vector<int> &kept, int output) const;
  // THREAD: main, the only thread left. Becomes it, with this environment
  // plus `variables`, and SIGTERM, SIGINT and SIGQUIT no longer blocked (an
  // image stuck before it takes its own signals can still be stopped; one
  // sent in the moment before it blocks them again ends it at once).
  // Returns only if that failed, with errno set (EINTR: one of them was
  // already waiting) and the mask as it was.
  void exec(const std::vector<std::string> &arguments,
            const std::vector<std::string> &variables) const;

 private:
  std::filesystem::path path_;
  net::FileDescriptor file_;
};

}  // namespace wharf::master
