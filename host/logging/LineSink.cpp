#include "logging/LineSink.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <system_error>

#include "net/FileDescriptor.h"

namespace wharf::logging {
namespace {

// One write of `text` and a newline; false unless all of it went.
bool writeLine(int fd, std::string_view text, size_t limit) noexcept {
  char buffer[PIPE_BUF];
  std::string heap;
  const char *data = buffer;
  size_t length = std::min(text.size(), limit - 1);
  try {
    if (length + 1 <= sizeof buffer) {
      std::memcpy(buffer, text.data(), length);
      buffer[length] = '\n';
    } else {
      heap.reserve(length + 1);
      heap.append(text.substr(0, length)).push_back('\n');
      data = heap.data();
    }
  } catch (...) {
    return false;
  }
  for (;;) {
    ssize_t put = ::write(fd, data, length + 1);
    if (put < 0 && errno == EINTR) continue;
    return put == static_cast<ssize_t>(length + 1);
  }
}

// Standard error may be a pipe (journald's, a terminal's), where only writes
// of at most PIPE_BUF bytes are atomic: longer lines are cut to fit.
class StderrSink : public LineSink {
 public:
  bool write(int, std::string_view line) noexcept override {
    return writeLine(STDERR_FILENO, line, PIPE_BUF);
  }
};

// O_APPEND makes each write land whole at the end, whoever else appends.
class FileSink : public LineSink {
 public:
  explicit FileSink(std::string path) : path_(std::move(path)), file_(open()) {}

  bool write(int, std::string_view line) noexcept override {
    return writeLine(file_.fd(), line, kMaxLine);
  }

  // The new file takes the old one's descriptor number (dup3 is atomic), so
  // a thread writing meanwhile writes whole lines to one file or the other.
  void reopen() override {
    net::FileDescriptor fresh = open();
    if (::dup3(fresh.fd(), file_.fd(), O_CLOEXEC) < 0)
      throw std::system_error(errno, std::generic_category(), "reopening " + path_);
  }

  bool moved() const override {
    struct stat named {
    }, open{};
    if (::fstat(file_.fd(), &open) != 0) return false;
    return ::stat(path_.c_str(), &named) != 0 || named.st_dev != open.st_dev ||
           named.st_ino != open.st_ino;
  }

 private:
  static constexpr size_t kMaxLine = 64 * 1024;

  net::FileDescriptor open() const {
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "opening " + path_);
    return net::FileDescriptor(fd);
  }

  std::string path_;
  net::FileDescriptor file_;
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
    return false;
  }

  bool stampsLines() const override { return true; }

 private:
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
};

std::mutex filesMutex;
std::map<std::string, std::weak_ptr<LineSink>> &files() {
  static std::map<std::string, std::weak_ptr<LineSink>> open;
  return open;
}

// Reopens the file sinks `which` picks; returns the errors.
template <typename Which>
std::vector<std::string> reopenEach(Which which) {
  std::vector<std::string> failures;
  std::lock_guard lock(filesMutex);
  for (auto file = files().begin(); file != files().end();) {
    auto sink = file->second.lock();
    if (!sink) {
      file = files().erase(file);
      continue;
    }
    try {
      if (which(*sink)) sink->reopen();
    } catch (const std::exception &error) {
      failures.push_back(error.what());
    }
    ++file;
  }
  return failures;
}

}  // namespace

std::shared_ptr<LineSink> openLineSink(const std::string &destination, const std::string &tag) {
  if (destination == "stderr") return std::make_shared<StderrSink>();
  if (destination == "syslog") return std::make_shared<SyslogSink>(tag);
  std::lock_guard lock(filesMutex);
  if (auto open = files()[destination].lock()) return open;
  auto sink = std::make_shared<FileSink>(destination);
  files()[destination] = sink;
  return sink;
}

std::vector<std::string> reopenFiles() {
  return reopenEach([](const LineSink &) { return true; });
}

void reopenMovedFiles() {
  reopenEach([](const LineSink &sink) { return sink.moved(); });
}

}  // namespace wharf::logging
