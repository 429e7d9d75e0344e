// Internal. A log file, appended to through one descriptor: O_APPEND makes
// each write land whole at the end, whoever else appends. Where the
// descriptor comes from is not its business: the master opens the file
// (logging/LogFileOpen), a worker gets it passed.
#pragma once

#include <string>

#include "logging/LineSink.h"
#include "net/FileDescriptor.h"

namespace wharf::logging {

class LogFile : public LineSink {
 public:
  LogFile(std::string path, net::FileDescriptor file)
      : path_(std::move(path)), file_(std::move(file)) {}

  bool write(int severity, std::string_view line) noexcept override;

  // THREAD: any. Writes to `fresh`'s file from now on (reopened after
  // logrotate moved the old one, or passed by the master). The new file
  // takes the old one's descriptor number (dup3 is atomic), so a thread
  // writing meanwhile writes whole lines to one file or the other.
  void replace(const net::FileDescriptor &fresh);

  const std::string &path() const { return path_; }
  int fd() const { return file_.fd(); }

 private:
  static constexpr size_t kMaxLine = 64 * 1024;

  std::string path_;
  net::FileDescriptor file_;
};

}  // namespace wharf::logging
