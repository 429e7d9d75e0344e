#include "SessionCounts.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace ftp {
namespace {

// A process's start time (clock ticks since boot, /proc/PID/stat's 22nd
// field): with its id, a name no later process has. 0 if it cannot be read.
uint64_t startTimeOf(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t end = text.rfind(')');
  if (end == std::string::npos) return 0;
  std::istringstream fields(text.substr(end + 2));
  std::string field;
  for (int index = 3; index < 22 && fields >> field; ++index) {
  }
  uint64_t start = 0;
  return fields >> start ? start : 0;
}

// This process's id and start time, read again after a fork.
struct Self {
  pid_t pid = 0;
  uint64_t start = 0;
};
Self self() {
  static thread_local Self known;
  if (known.pid != ::getpid()) known = {::getpid(), startTimeOf(::getpid())};
  return known;
}

}  // namespace

// One process's sessions from one address. 64 bytes.
struct SessionCounts::Slot {
  int32_t pid;
  uint32_t sessions;  // 0: free
  uint64_t start;
  char ip[48];  // NUL-terminated text (INET6_ADDRSTRLEN is 46)
};

struct SessionCounts::Table {
  static constexpr uint64_t kMagic = 0x3174756f43707466;  // "ftpCout1"
  static constexpr size_t kSlots = 4000;
  uint64_t magic;
  Slot slots[kSlots];
};

void SessionCounts::share(wharf::Zone zone) {
  wharf::Zone::Lock lock(zone);
  uint64_t &root = zone.root();
  if (root == 0) {
    uint64_t offset = zone.allocate(sizeof(Table));
    if (offset == 0) throw wharf::Error("the zone has no room for the table");
    auto *fresh = zone.at<Table>(offset);
    std::memset(static_cast<void *>(fresh), 0, sizeof(Table));
    fresh->magic = Table::kMagic;
    root = offset;
  }
  auto *table = zone.at<Table>(root);
  if (table == nullptr || table->magic != Table::kMagic)
    throw wharf::Error("the zone holds something else");
  table_ = table;
  zone_ = zone;
}

bool SessionCounts::refused(Limits limits, size_t total, size_t fromIp, std::string &reason) const {
  if (limits == Limits::Waive) return false;
  if (total_ > 0 && total >= total_) {
    reason = "Too many users, try again later.";
    return true;
  }
  if (perIp_ > 0 && fromIp >= perIp_) {
    reason = "Too many connections from your address.";
    return true;
  }
  return false;
}

std::unique_ptr<SessionCounts::Place> SessionCounts::take(const std::string &ip,
                                                          std::string &reason) {
  return place(ip, Limits::Apply, reason);
}

std::unique_ptr<SessionCounts::Place> SessionCounts::adopt(const std::string &ip) {
  std::string never;
  return place(ip, Limits::Waive, never);
}

std::unique_ptr<SessionCounts::Place> SessionCounts::place(const std::string &ip, Limits limits,
                                                           std::string &reason) {
  if (total_ == 0 && perIp_ == 0) return std::make_unique<Place>(*this, ip, Place::Kept::Nowhere);
  if (table_ != nullptr && ip.size() < sizeof(Slot::ip))
    if (auto shared = takeShared(ip, limits, reason); shared || !reason.empty()) return shared;
  return takeLocal(ip, limits, reason);  // no zone, or a full table: this process counts alone
}

std::unique_ptr<SessionCounts::Place> SessionCounts::takeShared(const std::string &ip,
                                                                Limits limits,
                                                                std::string &reason) {
  Self me = self();
  wharf::Zone::Lock lock(*zone_);
  // Counted first as if every process were alive: the usual case, with no
  // system call under the lock. Only a count that would refuse, or a full
  // table, has the processes checked, and the places of those gone dropped.
  auto count = [&](bool checked, size_t &total, size_t &fromIp, Slot *&mine, Slot *&free) {
    std::unordered_map<pid_t, bool> alive;  // one check per process
    auto isAlive = [&](const Slot &slot) {
      if (slot.pid == me.pid) return slot.start == me.start;
      auto [known, fresh] = alive.emplace(slot.pid, true);
      if (fresh) {
        bool gone = ::kill(slot.pid, 0) != 0 && errno == ESRCH;
        uint64_t start = gone ? 0 : startTimeOf(slot.pid);
        known->second = !gone && (start == 0 || start == slot.start);  // unreadable: kept
      }
      return known->second;
    };
    total = fromIp = 0;
    mine = free = nullptr;
    for (Slot &slot : table_->slots) {
      if (slot.sessions != 0 && (checked || slot.pid == me.pid) && !isAlive(slot))
        slot.sessions = 0;  // its process is gone
      if (slot.sessions == 0) {
        if (free == nullptr) free = &slot;
        continue;
      }
      total += slot.sessions;
      if (std::strncmp(slot.ip, ip.c_str(), sizeof slot.ip) != 0) continue;
      fromIp += slot.sessions;
      if (slot.pid == me.pid) mine = &slot;
    }
  };
  size_t total, fromIp;
  Slot *mine, *free;
  count(false, total, fromIp, mine, free);
  if (refused(limits, total, fromIp, reason) || (mine == nullptr && free == nullptr)) {
    reason.clear();
    count(true, total, fromIp, mine, free);
    if (refused(limits, total, fromIp, reason)) return nullptr;
  }
  if (mine == nullptr) {
    if (free == nullptr) return nullptr;  // full of live places: counted locally instead
    mine = free;
    mine->pid = me.pid;
    mine->start = me.start;
    std::memset(mine->ip, 0, sizeof mine->ip);
    std::memcpy(mine->ip, ip.data(), ip.size());
  }
  ++mine->sessions;
  return std::make_unique<Place>(*this, ip, Place::Kept::Shared);
}

std::unique_ptr<SessionCounts::Place> SessionCounts::takeLocal(const std::string &ip, Limits limits,
                                                               std::string &reason) {
  std::lock_guard lock(mutex_);
  auto found = byIp_.find(ip);
  if (refused(limits, active_, found == byIp_.end() ? 0 : found->second, reason)) return nullptr;
  ++active_;
  ++byIp_[ip];
  return std::make_unique<Place>(*this, ip, Place::Kept::Local);
}

void SessionCounts::release(const std::string &ip, Place::Kept kept) {
  if (kept == Place::Kept::Local) {
    std::lock_guard lock(mutex_);
    --active_;
    if (--byIp_[ip] == 0) byIp_.erase(ip);
    return;
  }
  if (kept != Place::Kept::Shared) return;
  Self me = self();
  try {
    wharf::Zone::Lock lock(*zone_);
    for (Slot &slot : table_->slots)
      if (slot.sessions != 0 && slot.pid == me.pid && slot.start == me.start &&
          std::strncmp(slot.ip, ip.c_str(), sizeof slot.ip) == 0) {
        --slot.sessions;
        return;
      }
  } catch (const wharf::Error &) {  // no lock to be had: the place goes with this process
  }
}

}  // namespace ftp
