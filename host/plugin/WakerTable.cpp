#include "plugin/WakerTable.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace wharf::plugin::wakers {
namespace {

// Posts come from plugins' threads: a lock per shard keeps them apart.
constexpr size_t kShards = 16;

struct Shard {
  std::mutex mutex;
  std::unordered_map<uintptr_t, std::shared_ptr<session::Mailbox>> mailboxes;
};

struct Table {
  std::atomic<uintptr_t> nextId{1};
  std::array<Shard, kShards> shards;

  Shard &shardOf(uintptr_t id) { return shards[id % kShards]; }
};

// Never destroyed (a plugin thread may release a waker during exit); made at
// load time, before any thread.
Table &table() {
  static auto *made = new Table;
  return *made;
}
[[maybe_unused]] Table &madeAtLoad = table();

uintptr_t idOf(const wharf_waker *waker) {
  return reinterpret_cast<uintptr_t>(waker);
}

}  // namespace

wharf_waker *make(std::shared_ptr<session::Mailbox> mailbox) {
  uintptr_t id = table().nextId.fetch_add(1, std::memory_order_relaxed);
  Shard &shard = table().shardOf(id);
  std::lock_guard lock(shard.mutex);
  shard.mailboxes.emplace(id, std::move(mailbox));
  return reinterpret_cast<wharf_waker *>(id);
}

std::shared_ptr<session::Mailbox> find(const wharf_waker *waker) {
  Shard &shard = table().shardOf(idOf(waker));
  std::lock_guard lock(shard.mutex);
  auto found = shard.mailboxes.find(idOf(waker));
  return found == shard.mailboxes.end() ? nullptr : found->second;
}

bool release(const wharf_waker *waker) noexcept {
  std::shared_ptr<session::Mailbox> mailbox;  // let go outside the lock
  Shard &shard = table().shardOf(idOf(waker));
  std::lock_guard lock(shard.mutex);
  auto found = shard.mailboxes.find(idOf(waker));
  if (found == shard.mailboxes.end()) return false;
  mailbox = std::move(found->second);
  shard.mailboxes.erase(found);
  return true;
}

}  // namespace wharf::plugin::wakers
