#include "zone/SharedZone.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "zone/ZoneError.h"
#include "zone/ZoneHeap.h"

namespace wharf::zone {
namespace {

// How long an opener waits for the process making the zone to finish it.
constexpr auto kMakingTimeout = std::chrono::seconds(2);
constexpr uint64_t kHeapAlignment = 64;

// Set as a worker stops (keepNames).
std::atomic<bool> namesKept{false};

std::string errorText(int number) {
  return std::strerror(number);
}

struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

char *mapZone(int fd, uint64_t size, const std::string &name) {
  void *mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mapped == MAP_FAILED) throw ZoneError("zone '" + name + "': mmap: " + errorText(errno));
  return static_cast<char *>(mapped);
}

std::string ownerIn(const ZoneHeader &header) {
  return std::string(header.listener, ::strnlen(header.listener, sizeof header.listener));
}

std::string ownerName(const ZoneRequest &request) {
  return request.listener.substr(0, kListenerNameMax - 1);
}

// Written first by the process making a zone, before it looks for the name's
// other layouts (otherOwner).
void claim(ZoneHeader &header, const ZoneRequest &request) {
  std::string owner = ownerName(request);
  std::memset(header.listener, 0, sizeof header.listener);
  std::memcpy(header.listener, owner.data(), owner.size());
}

// The listener that holds this zone name under another layout, made by this
// user; empty if none. Names are global, but listeners of other worker groups
// (isolate) declare theirs in other processes. Of two processes making the
// name at once, each claims before it looks, so the later one sees the
// earlier's claim.
std::string otherOwner(const std::string &objectName, const ZoneRequest &request) {
  std::string prefix = objectName.substr(0, objectName.rfind('.') + 1);  // "/wharf_PID.NAME."
  std::string own = ownerName(request);
  std::error_code error;
  for (std::filesystem::directory_iterator entry("/dev/shm", error), end; !error && entry != end;
       entry.increment(error)) {
    std::string object = "/" + entry->path().filename().string();
    if (!object.starts_with(prefix) || object == objectName) continue;
    Descriptor sibling{::shm_open(object.c_str(), O_RDONLY | O_CLOEXEC, 0)};
    struct stat status {};
    if (sibling.fd < 0 || ::fstat(sibling.fd, &status) != 0 || status.st_uid != ::geteuid() ||
        static_cast<size_t>(status.st_size) < sizeof(ZoneHeader))
      continue;
    void *mapped = ::mmap(nullptr, sizeof(ZoneHeader), PROT_READ, MAP_SHARED, sibling.fd, 0);
    if (mapped == MAP_FAILED) continue;
    std::string owner = ownerIn(*static_cast<const ZoneHeader *>(mapped));
    ::munmap(mapped, sizeof(ZoneHeader));
    if (!owner.empty() && owner != own) return owner;
  }
  return "";
}

void format(ZoneHeader &header, const ZoneRequest &request) {
  header.magic = kZoneMagic;
  header.headerVersion = kHeaderVersion;
  header.layout = request.layout;
  header.size = request.size;
  pthread_mutexattr_t attributes;
  ::pthread_mutexattr_init(&attributes);
  ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  ::pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  // Not recursive: a second lock on the holding thread is refused (EDEADLK), not a deadlock.
  ::pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ERRORCHECK);
  ::pthread_mutex_init(&header.lock, &attributes);
  ::pthread_mutexattr_destroy(&attributes);
  header.root = 0;
  ZoneHeap::format(header,
                   (sizeof(ZoneHeader) + kHeapAlignment - 1) / kHeapAlignment * kHeapAlignment);
  header.ready.store(1, std::memory_order_release);
}

// Waits for `done` until kMakingTimeout; false if it never was.
template <typename Done>
bool waitFor(Done done) {
  auto deadline = std::chrono::steady_clock::now() + kMakingTimeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

SharedZone::SharedZone(std::string objectName, ZoneRequest request, char *base)
    : objectName_(std::move(objectName)),
      request_(std::move(request)),
      base_(base),
      openedBy_(::getpid()),
      logger_(Poco::Logger::get("listener." + request_.listener)) {}

void SharedZone::keepNames() {
  namesKept = true;
}

SharedZone::~SharedZone() {
  ::munmap(base_, request_.size);
  if (::getpid() == openedBy_ && !namesKept) ::shm_unlink(objectName_.c_str());
}

void SharedZone::keepAside(const std::string &objectName, const ZoneRequest &request) {
  std::string path = "/dev/shm" + objectName, aside = path + ".corrupt";
  Poco::Logger &logger = Poco::Logger::get("listener." + request.listener);
  if (::rename(path.c_str(), aside.c_str()) == 0) {
    logger.error("zone '" + request.name + "': its header is not a ready zone's (a plugin wrote " +
                 "over it, or its maker died): kept aside as " + aside +
                 " (the last one only); a new, empty zone takes its place");
    return;
  }
  int error = errno;
  ::shm_unlink(objectName.c_str());
  logger.error("zone '" + request.name + "': its header is not a ready zone's, and it could not " +
               "be kept aside (" + errorText(error) +
               "): removed; a new, empty zone takes its place");
}

std::shared_ptr<SharedZone> SharedZone::attach(const std::string &objectName,
                                               const ZoneRequest &request, bool &fresh) {
  const std::string &name = request.name;
  for (int attempt = 0; attempt < 2; ++attempt) {
    Descriptor made{::shm_open(objectName.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
    if (made.fd >= 0) {
      // Reserved whole now: a full /dev/shm refuses here rather than SIGBUS later.
      if (int failed = ::posix_fallocate(made.fd, 0, static_cast<off_t>(request.size))) {
        ::shm_unlink(objectName.c_str());
        throw ZoneError("zone '" + name + "': cannot reserve " + std::to_string(request.size) +
                        " bytes in /dev/shm: " + errorText(failed));
      }
      char *base = mapZone(made.fd, request.size, name);
      auto &header = *reinterpret_cast<ZoneHeader *>(base);
      claim(header, request);
      if (std::string owner = otherOwner(objectName, request); !owner.empty()) {
        ::munmap(base, request.size);
        ::shm_unlink(objectName.c_str());
        throw ZoneError::belongsTo(name, owner);
      }
      format(header, request);
      fresh = true;
      return std::shared_ptr<SharedZone>(new SharedZone(objectName, request, base));
    }
    if (errno != EEXIST) throw ZoneError("zone '" + name + "': shm_open: " + errorText(errno));
    Descriptor found{::shm_open(objectName.c_str(), O_RDWR | O_CLOEXEC, 0)};
    if (found.fd < 0) {
      if (errno == ENOENT) continue;  // removed meanwhile: make it
      throw ZoneError("zone '" + name + "': shm_open: " + errorText(errno));
    }
    struct stat status {};
    if (!waitFor([&] { return ::fstat(found.fd, &status) == 0 && status.st_size > 0; })) {
      ::shm_unlink(objectName.c_str());  // its maker died before sizing it
      continue;
    }
    // Made by this user alone: another local user could have made the name first.
    if (status.st_uid != ::geteuid() || (status.st_mode & (S_IRWXG | S_IRWXO)) != 0)
      throw ZoneError("zone '" + name + "': /dev/shm" + objectName + " belongs to uid " +
                      std::to_string(status.st_uid) + " or is open to others; not used");
    if (static_cast<uint64_t>(status.st_size) != request.size)
      throw ZoneError::sizeChanged(name, static_cast<uint64_t>(status.st_size), request.size);
    char *base = mapZone(found.fd, request.size, name);
    auto &header = *reinterpret_cast<ZoneHeader *>(base);
    if (!waitFor([&] { return header.ready.load(std::memory_order_acquire) == 1; })) {
      ::munmap(base, request.size);
      keepAside(objectName, request);  // its maker died formatting it, or a plugin wrote over it
      continue;
    }
    std::string owner = ownerIn(header);
    if (header.magic != kZoneMagic || header.headerVersion != kHeaderVersion ||
        header.layout != request.layout || owner != ownerName(request)) {
      ::munmap(base, request.size);
      throw ZoneError::belongsTo(name, owner);
    }
    fresh = false;
    return std::shared_ptr<SharedZone>(new SharedZone(objectName, request, base));
  }
  throw ZoneError("zone '" + name + "': another process keeps making it and dying");
}

namespace {

// The zones this thread holds. The check does not rest on the mutex's type:
// a zone an older wharfd made (kept across an upgrade) has a plain one.
thread_local std::vector<const SharedZone *> heldHere;

bool holdsHere(const SharedZone *zone) {
  return std::find(heldHere.begin(), heldHere.end(), zone) != heldHere.end();
}

}  // namespace

wharf_status SharedZone::lock(bool &recovered) {
  recovered = false;
  if (holdsHere(this)) return refuseRelock();
  int result = ::pthread_mutex_lock(&header().lock);
  if (result == 0 || result == EOWNERDEAD) heldHere.push_back(this);
  if (result == EOWNERDEAD) {
    ::pthread_mutex_consistent(&header().lock);
    recovered = true;
    logger_.warning("zone '" + name() +
                    "': a process died holding its lock; recovered (what it was changing may be "
                    "half done)");
    return WHARF_OK;
  }
  if (result == EDEADLK) return refuseRelock();
  return result == 0 ? WHARF_OK : WHARF_ERROR;
}

wharf_status SharedZone::refuseRelock() {
  if (!relockLogged_.exchange(true))
    logger_.error("zone '" + name() +
                  "': zone_lock on a thread that holds it already (the lock is not "
                  "recursive); refused with WHARF_INVALID (logged once)");
  return WHARF_INVALID;
}

wharf_status SharedZone::unlock() {
  if (::pthread_mutex_unlock(&header().lock) != 0) return WHARF_INVALID;
  std::erase(heldHere, this);
  return WHARF_OK;
}

uint64_t SharedZone::allocate(size_t size) {
  return ZoneHeap(base_, header()).allocate(size);
}

bool SharedZone::release(uint64_t offset) {
  return ZoneHeap(base_, header()).release(offset);
}

void *SharedZone::at(uint64_t offset) const {
  const ZoneHeader &zone = header();
  if (offset < zone.heapStart || offset >= zone.heapEnd) return nullptr;
  return base_ + offset;
}

}  // namespace wharf::zone
