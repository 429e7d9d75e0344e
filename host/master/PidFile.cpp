#include "master/PidFile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include "app/RuntimeFolder.h"

namespace wharf::master {
namespace {

// The process id `path` names, or 0 (no file, or not a number).
pid_t readPid(const std::filesystem::path &path) {
  std::ifstream file(path);
  long pid = 0;
  if (!(file >> pid) || pid <= 0) return 0;
  return static_cast<pid_t>(pid);
}

// Whether `pid` is a running wharfd (its command name says so).
bool isWharfd(pid_t pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  return std::getline(comm, name) && name == "wharfd";
}

[[noreturn]] void fail(const std::filesystem::path &path, const std::string &why) {
  throw std::runtime_error("[host] pid_file " + path.string() + ": " + why);
}

}  // namespace

PidFile::PidFile(std::filesystem::path path) : path_(std::move(path)) {
  pid_t named = readPid(path_);
  if (named != 0 && named != ::getpid() && isWharfd(named))
    fail(path_, "names wharfd " + std::to_string(named) + ", which is running");
  try {
    app::makeRuntimeFolder(path_);
  } catch (const std::exception &error) {
    fail(path_, error.what());
  }
  std::filesystem::path staged = path_;
  staged += ".new";
  int fd = ::open(staged.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) fail(path_, std::string("writing it: ") + std::strerror(errno));
  std::string text = std::to_string(::getpid()) + "\n";
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written || ::rename(staged.c_str(), path_.c_str()) != 0) {
    int error = errno;
    ::unlink(staged.c_str());
    fail(path_, std::string("writing it: ") + std::strerror(error));
  }
}

PidFile::~PidFile() {
  if (readPid(path_) == ::getpid()) ::unlink(path_.c_str());
}

}  // namespace wharf::master
