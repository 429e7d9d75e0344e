// Internal. Where log lines go: standard error, a file, or syslog. Each line
// leaves in one write(2) or one datagram, so lines of many threads and
// processes (fork sessions, workers) never tear or glue together. A file or
// syslog never blocks the writer: a line that cannot go at once (a full disk,
// a syslog daemon that lags) is dropped, and write() says so.
//
// Only the master opens log files (as root, where a plugin may have laid a
// trap: logging/LogFileOpen). Workers and fork helpers write to descriptors
// it passed them, and get new ones when it reopens the files (SIGUSR1).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/FileDescriptor.h"
#include "process/Account.h"

namespace wharf::logging {

class LogFile;

class LineSink {
 public:
  virtual ~LineSink() = default;
  // THREAD: any. `line` without its newline; `severity` is syslog's (LOG_*).
  // False if the line was dropped.
  virtual bool write(int severity, std::string_view line) noexcept = 0;
  // Whether lines need a timestamp of their own (syslog adds one).
  virtual bool stampsLines() const { return false; }
};

// How this process gets the log files its config names.
enum class FileAccess {
  Open,     // by path (the master, and any process with no master)
  Passed,   // only as descriptors passed to adoptFile() (workers, fork helpers)
  Discard,  // not at all: nothing is opened or created, lines are dropped (--check-config)
};
// THREAD: main, before a file sink is asked for. `untrusted`: with Open, the
// workers' accounts that are not this process's user (an isolated listener
// may have its own).
void setFileAccess(FileAccess access, std::vector<process::Account> untrusted = {});

// `destination`: "stderr", "syslog", or an absolute file path (appended to,
// created 0640). Lines sent to syslog are tagged `tag[pid]`. A file is shared:
// asking twice for one path gives the same sink while it lives. Throws
// std::system_error naming the path (a file that cannot be opened), or
// std::runtime_error (Passed: a file the master passed no descriptor for).
std::shared_ptr<LineSink> openLineSink(const std::string &destination, const std::string &tag);

// THREAD: main. Open: opens every file sink alive again by its path (after
// logrotate moved it). Returns why each file that could not be reopened (it
// keeps its old one) could not.
std::vector<std::string> reopenFiles();

// THREAD: any. Passed: a descriptor the master opened for `path`. The sink for
// that path writes to it from now on; one is made if there is none, and kept
// for the life of the process.
void adoptFile(const std::string &path, net::FileDescriptor file);

// THREAD: any. Every file sink alive, to pass their descriptors on.
std::vector<std::shared_ptr<const LogFile>> openFiles();
// THREAD: any. Grows whenever a file sink's descriptor changes (reopened or
// adopted): a process that passes them on compares it with what it passed.
uint64_t fileChanges();

}  // namespace wharf::logging
