// Internal. One shared zone as this process maps it (SDK 1.2): a POSIX
// shared memory object that every worker of the listener opens by name, so
// a worker started later, or restarted after a crash, finds the same
// memory. Whoever opens it first makes and formats it; the others wait until
// it is ready. The memory is reserved whole when made (posix_fallocate), so
// a full /dev/shm is a refused declaration, never a SIGBUS later. The C
// handle `wharf_zone *` points into this object.
#pragma once

#include <Poco/Logger.h>
#include <sys/types.h>
#include <wharf/wharf.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "zone/ZoneHeader.h"

namespace wharf::zone {
class SharedZone;
}

struct wharf_zone {
  wharf::zone::SharedZone *self;
};

namespace wharf::zone {

struct ZoneRequest {
  std::string name;      // the plugin's name for it
  std::string listener;  // the listener that owns it
  uint64_t size;         // a multiple of the page size
  uint32_t layout;       // the plugin's layout version
};

class SharedZone {
 public:
  // Opens the object `objectName` (as shm_open spells it), making it if it
  // does not exist. Throws ZoneError if it belongs to another listener, has
  // another size, or cannot be had. `fresh`: this call made it.
  static std::shared_ptr<SharedZone> attach(const std::string &objectName,
                                            const ZoneRequest &request, bool &fresh);
  // Unmaps; the process that opened the object also removes its name (the
  // memory goes once no process maps it), unless keepNames() was called.
  ~SharedZone();
  // THREAD: any, as a worker stops: the zones it drops from now on keep
  // their names, for the workers after it (the master removes them at its end).
  static void keepNames();
  SharedZone(const SharedZone &) = delete;
  SharedZone &operator=(const SharedZone &) = delete;

  static SharedZone &from(const wharf_zone *handle) { return *handle->self; }
  wharf_zone *handle() { return &handle_; }

  // The zone's lock. `recovered`: the last holder died holding it; what it
  // was changing may be half done (logged).
  wharf_status lock(bool &recovered);
  wharf_status unlock();
  // With the lock held (ZoneHeap).
  uint64_t allocate(size_t size);
  bool release(uint64_t offset);
  // The address of `offset` in this process; nullptr outside the zone.
  void *at(uint64_t offset) const;
  uint64_t *root() const { return &header().root; }

  const std::string &name() const { return request_.name; }
  // Bytes in blocks handed out (THREAD: any, without the lock).
  uint64_t used() const { return header().used.load(std::memory_order_relaxed); }
  const ZoneRequest &request() const { return request_; }

 private:
  // An existing zone that never became ready: renamed to NAME.corrupt in
  // /dev/shm (replacing an older one) and logged, not silently removed.
  static void keepAside(const std::string &objectName, const ZoneRequest &request);
  SharedZone(std::string objectName, ZoneRequest request, char *base);
  ZoneHeader &header() const { return *reinterpret_cast<ZoneHeader *>(base_); }
  wharf_status refuseRelock();

  std::string objectName_;
  ZoneRequest request_;
  char *base_;
  pid_t openedBy_;
  Poco::Logger &logger_;
  wharf_zone handle_{this};
  std::atomic<bool> relockLogged_{false};
};

}  // namespace wharf::zone
