#include "app/FileWatcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace wharf::app {
namespace {

// How long the folder must be quiet after a change before the reload.
constexpr auto kDebounce = std::chrono::milliseconds(300);

}  // namespace

FileWatcher::FileWatcher(std::vector<std::filesystem::path> files, std::function<void()> changed)
    : files_(std::move(files)),
      changed_(std::move(changed)),
      inotify_(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) {
  if (!inotify_.valid()) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  std::set<std::filesystem::path> folders;
  for (const auto &file : files_) {
    watched_.insert(file.lexically_normal());
    folders.insert(file.lexically_normal().parent_path());
  }
  for (const auto &folder : folders) {
    int watch = ::inotify_add_watch(inotify_.fd(), folder.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO);
    if (watch < 0)
      throw std::system_error(errno, std::generic_category(), "watching " + folder.string());
    folders_.emplace_back(watch, folder);
  }
  thread_ = std::thread([this] { run(); });
}

FileWatcher::~FileWatcher() {
  stop_.request();
  thread_.join();
}

void FileWatcher::run() noexcept {
  bool pending = false;
  for (;;) {
    auto wait =
        stop_.waitReadableFor(inotify_.fd(), pending ? kDebounce : std::chrono::milliseconds(-1));
    if (wait == net::StopSignal::Wait::Stopped) return;
    if (wait == net::StopSignal::Wait::Readable) {
      pending = readEvents() || pending;
      continue;
    }
    pending = false;  // quiet for kDebounce
    changed_();
  }
}

bool FileWatcher::readEvents() {
  alignas(inotify_event) char buffer[16 * 1024];
  bool relevant = false;
  ssize_t got;
  while ((got = ::read(inotify_.fd(), buffer, sizeof buffer)) > 0) {
    for (char *at = buffer; at < buffer + got;) {
      auto *event = reinterpret_cast<inotify_event *>(at);
      at += sizeof(inotify_event) + event->len;
      if (event->len == 0) continue;
      for (const auto &[watch, folder] : folders_)
        if (watch == event->wd && watched_.count(folder / event->name) != 0) relevant = true;
    }
  }
  return relevant;
}

}  // namespace wharf::app
