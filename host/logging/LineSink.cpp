#include "logging/LineSink.h"

#include <limits.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "logging/LineWrite.h"
#include "logging/LogFile.h"
#include "logging/LogFileOpen.h"

namespace wharf::logging {
namespace {

// Standard error may be a pipe (journald's, a terminal's), where only writes
// of at most PIPE_BUF bytes are atomic: longer lines are cut to fit.
class StderrSink : public LineSink {
 public:
  bool write(int, std::string_view line) noexcept override {
    return writeLine(STDERR_FILENO, line, PIPE_BUF);
  }
};

// What --check-config's listeners log to: it creates no file.
class DiscardSink : public LineSink {
 public:
  bool write(int, std::string_view) noexcept override { return true; }
};

// The local syslog socket, written as glibc's syslog(3) does but with
// MSG_DONTWAIT: syslog(3) blocks while the daemon's queue is full, and a
// busy journald must cost a log line, not a session's latency.
class SyslogSink : public LineSink {
 public:
  explicit SyslogSink(std::string tag) : tag_(std::move(tag)) { connect(); }

  bool write(int severity, std::string_view line) noexcept override {
    char header[96];
    std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%b %e %T", &local);
    int headerLength =
        std::snprintf(header, sizeof header, "<%d>%s %s[%d]: ", LOG_DAEMON | severity, stamp,
                      tag_.c_str(), ::getpid());
    if (headerLength < 0) return false;
    iovec parts[2] = {{header, std::min(static_cast<size_t>(headerLength), sizeof header - 1)},
                      {const_cast<char *>(line.data()), line.size()}};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = 2;
    std::lock_guard lock(mutex_);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (socket_.valid() && ::sendmsg(socket_.fd(), &message, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
        return true;
      if (socket_.valid() && errno != ECONNREFUSED && errno != ENOTCONN) return false;
      connect();  // the daemon restarted (or was not there yet)
    }
    return toStandardError(std::string_view(header, static_cast<size_t>(headerLength)), line);
  }

  bool stampsLines() const override { return true; }

 private:
  // No syslog daemon to reach (a container, a machine without one): the
  // line goes to standard error, without its priority, rather than nowhere;
  // the first time says why.
  bool toStandardError(std::string_view header, std::string_view line) noexcept {
    if (!warned_) {
      warned_ = true;
      writeLine(STDERR_FILENO,
                "wharfd: log = syslog: /dev/log cannot be reached; logging to standard error "
                "until it can",
                PIPE_BUF);
    }
    header.remove_prefix(std::min(header.find('>') + 1, header.size()));
    char joined[PIPE_BUF];
    size_t length = std::min(header.size(), sizeof joined);
    std::memcpy(joined, header.data(), length);
    size_t rest = std::min(line.size(), sizeof joined - length);
    std::memcpy(joined + length, line.data(), rest);
    return writeLine(STDERR_FILENO, std::string_view(joined, length + rest), PIPE_BUF);
  }

  void connect() noexcept {
    socket_ = net::FileDescriptor(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, "/dev/log");
    if (socket_.valid() &&
        ::connect(socket_.fd(), reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0)
      socket_ = net::FileDescriptor();
  }

  std::string tag_;
  std::mutex mutex_;
  net::FileDescriptor socket_;
  bool warned_ = false;  // under mutex_
};

struct Files {
  std::mutex mutex;
  FileAccess access = FileAccess::Open;
  std::vector<process::Account> untrusted;
  std::map<std::string, std::weak_ptr<LogFile>> alive;
  std::vector<std::shared_ptr<LogFile>> adopted;  // Passed: kept for the process's life
  std::atomic<uint64_t> changes{0};
};

Files &files() {
  static Files files;
  return files;
}

}  // namespace

void setFileAccess(FileAccess access, std::vector<process::Account> untrusted) {
  std::lock_guard lock(files().mutex);
  files().access = access;
  files().untrusted = std::move(untrusted);
}

std::shared_ptr<LineSink> openLineSink(const std::string &destination, const std::string &tag) {
  if (destination == "stderr") return std::make_shared<StderrSink>();
  if (destination == "syslog") return std::make_shared<SyslogSink>(tag);
  Files &registry = files();
  std::lock_guard lock(registry.mutex);
  if (registry.access == FileAccess::Discard) return std::make_shared<DiscardSink>();
  if (auto open = registry.alive[destination].lock()) return open;
  if (registry.access == FileAccess::Passed)
    throw std::runtime_error("log file " + destination + ": the master passed none");
  auto sink = std::make_shared<LogFile>(destination, openLogFile(destination, registry.untrusted));
  registry.alive[destination] = sink;
  return sink;
}

std::vector<std::string> reopenFiles() {
  std::vector<std::string> failures;
  Files &registry = files();
  std::lock_guard lock(registry.mutex);
  for (auto file = registry.alive.begin(); file != registry.alive.end();) {
    auto sink = file->second.lock();
    if (!sink) {
      file = registry.alive.erase(file);
      continue;
    }
    try {
      sink->replace(openLogFile(sink->path(), registry.untrusted));
    } catch (const std::exception &error) {
      failures.push_back(error.what());
    }
    ++file;
  }
  ++registry.changes;
  return failures;
}

void adoptFile(const std::string &path, net::FileDescriptor file) {
  if (!file.valid()) throw std::runtime_error("log file " + path + ": passed without a descriptor");
  Files &registry = files();
  std::lock_guard lock(registry.mutex);
  if (auto open = registry.alive[path].lock()) {
    open->replace(file);
  } else {
    auto sink = std::make_shared<LogFile>(path, std::move(file));
    registry.alive[path] = sink;
    registry.adopted.push_back(std::move(sink));
  }
  ++registry.changes;
}

std::vector<std::shared_ptr<const LogFile>> openFiles() {
  std::vector<std::shared_ptr<const LogFile>> open;
  std::lock_guard lock(files().mutex);
  for (const auto &[path, file] : files().alive)
    if (auto sink = file.lock()) open.push_back(std::move(sink));
  return open;
}

uint64_t fileChanges() {
  return files().changes.load();
}

}  // namespace wharf::logging
