#include "process/CrashPage.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace wharf::process {
namespace {

// A field the worker wrote (or a plugin scribbled on): up to its first NUL,
// never past its end.
std::string textOf(const char *field, size_t size) {
  return std::string(field, ::strnlen(field, size));
}

CrashPageLayout *mapped(int fd) {
  void *page = ::mmap(nullptr, sizeof(CrashPageLayout), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (page == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(), "mapping a worker's crash page");
  return static_cast<CrashPageLayout *>(page);
}

}  // namespace

CrashPage::CrashPage() : fd_(::memfd_create("wharf-crash-page", MFD_CLOEXEC | MFD_ALLOW_SEALING)) {
  if (!fd_.valid()) throw std::system_error(errno, std::generic_category(), "memfd_create");
  // Sealed at its size: a plugin that shrank it would make the master's read
  // of it a SIGBUS.
  if (::ftruncate(fd_.fd(), sizeof(CrashPageLayout)) != 0 ||
      ::fcntl(fd_.fd(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    throw std::system_error(errno, std::generic_category(), "sizing a worker's crash page");
  page_ = mapped(fd_.fd());
}

CrashPage::CrashPage(net::FileDescriptor page) : fd_(std::move(page)) {
  struct stat status {};
  if (::fstat(fd_.fd(), &status) != 0 || !S_ISREG(status.st_mode) ||
      status.st_size != sizeof(CrashPageLayout) ||
      ::fcntl(fd_.fd(), F_GET_SEALS) != (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
    throw std::system_error(EINVAL, std::generic_category(), "a handed-over crash page");
  page_ = mapped(fd_.fd());
}

CrashPage::~CrashPage() {
  ::munmap(page_, sizeof(CrashPageLayout));
}

std::optional<CrashRecord> CrashPage::record(pid_t pid) const {
  if (page_->written.load(std::memory_order_acquire) != 1 || page_->pid != pid) return std::nullopt;
  return CrashRecord{textOf(page_->listener, sizeof page_->listener),
                     textOf(page_->hook, sizeof page_->hook), page_->signal,
                     page_->forSession == 1};
}

CrashPageLayout *mapCrashPage(int fd) noexcept {
  struct stat status {};
  if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode) ||
      status.st_size != sizeof(CrashPageLayout))
    return nullptr;  // none was passed: whatever is there is not ours
  void *mapped =
      ::mmap(nullptr, sizeof(CrashPageLayout), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (mapped == MAP_FAILED) return nullptr;
  // Not in the processes this one forks: fork helpers and session processes
  // run plugin code that has no business with it.
  ::madvise(mapped, sizeof(CrashPageLayout), MADV_DONTFORK);
  return static_cast<CrashPageLayout *>(mapped);
}

}  // namespace wharf::process
