#include "logging/LogFile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "logging/LineWrite.h"

namespace wharf::logging {

bool LogFile::write(int, std::string_view line) noexcept {
  return writeLine(file_.fd(), line, kMaxLine);
}

void LogFile::replace(const net::FileDescriptor &fresh) {
  if (::dup3(fresh.fd(), file_.fd(), O_CLOEXEC) < 0)
    throw std::system_error(errno, std::generic_category(), "reopening " + path_);
}

}  // namespace wharf::logging
