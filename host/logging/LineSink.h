// Internal. Where log lines go: standard error, a file, or syslog. Each line
// leaves in one write(2) or one datagram, so lines of many threads and
// processes (fork sessions, workers) never tear or glue together. A file or
// syslog never blocks the writer: a line that cannot go at once (a full disk,
// a syslog daemon that lags) is dropped, and write() says so.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wharf::logging {

class LineSink {
 public:
  virtual ~LineSink() = default;
  // THREAD: any. `line` without its newline; `severity` is syslog's (LOG_*).
  // False if the line was dropped.
  virtual bool write(int severity, std::string_view line) noexcept = 0;
  // THREAD: main. A file sink opens its path again (after logrotate moved it).
  virtual void reopen() {}
  // Whether reopen() would open another file: the path names a new one, or none.
  virtual bool moved() const { return false; }
  // Whether lines need a timestamp of their own (syslog adds one).
  virtual bool stampsLines() const { return false; }
};

// `destination`: "stderr", "syslog", or an absolute file path (appended to,
// created 0640). Lines sent to syslog are tagged `tag[pid]`. A file is shared:
// asking twice for one path gives the same sink, and reopenFiles() reopens
// every file sink alive. Throws std::system_error naming the path.
std::shared_ptr<LineSink> openLineSink(const std::string &destination, const std::string &tag);

// THREAD: main. SIGUSR1. Returns why each file that could not be reopened
// (it keeps its old one) could not.
std::vector<std::string> reopenFiles();
// The same for processes that take no signals (a fork listener's helper,
// before each fork): only files moved away are reopened, like Python's
// WatchedFileHandler.
void reopenMovedFiles();

}  // namespace wharf::logging
