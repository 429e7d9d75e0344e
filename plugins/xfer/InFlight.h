// option.max_in_flight: the bytes this listener's uploads under way have
// declared (and reserved on disk). A put that would take them past it is
// refused, and so is one that would give one client address more than its
// share (a quarter, or max_file_size if that is more), so a few uploads that
// stall cannot claim the disk, or every upload's place, from every other
// client. Shared by the sessions of one instance: one worker process (mode =
// fork: one session's process, where it bounds that session alone).
// THREAD: any; internally locked.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace xfer {

class InFlight {
 public:
  // 0: no limit.
  InFlight(uint64_t limit, uint64_t perSource) : limit_(limit), perSource_(perSource) {}

  // Bytes claimed; given back when destroyed. Empty: nothing claimed.
  class Claim {
   public:
    Claim() = default;
    Claim(Claim &&other) noexcept { *this = std::move(other); }
    Claim &operator=(Claim &&other) noexcept {
      if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
        source_ = std::move(other.source_);
        bytes_ = std::exchange(other.bytes_, 0);
      }
      return *this;
    }
    ~Claim() { release(); }

   private:
    friend class InFlight;
    Claim(InFlight *owner, std::string source, uint64_t bytes)
        : owner_(owner), source_(std::move(source)), bytes_(bytes) {}
    void release() {
      if (owner_ != nullptr) owner_->giveBack(source_, bytes_);
      owner_ = nullptr;
      bytes_ = 0;
    }
    InFlight *owner_ = nullptr;
    std::string source_;
    uint64_t bytes_ = 0;
  };

  // Why `bytes` from `source` (a client address) cannot be claimed, or the claim.
  struct Outcome {
    std::optional<Claim> claim;
    std::string refusal;
  };
  Outcome claim(const std::string &source, uint64_t bytes) {
    std::lock_guard lock(mutex_);
    auto entry = bySource_.find(source);
    uint64_t mine = entry == bySource_.end() ? 0 : entry->second;
    if (limit_ != 0 && bytes > limit_ - std::min(limit_, total_))
      return {std::nullopt, "uploads under way have declared " + std::to_string(total_) +
                                " bytes, and this one would take them past max_in_flight (" +
                                std::to_string(limit_) + ")"};
    if (limit_ != 0 && bytes > perSource_ - std::min(perSource_, mine))
      return {std::nullopt, "this address's uploads under way have declared " +
                                std::to_string(mine) +
                                " bytes, and this one would take them past its share of "
                                "max_in_flight (" +
                                std::to_string(perSource_) + ")"};
    total_ += bytes;
    bySource_[source] += bytes;
    return {Claim(this, source, bytes), ""};
  }

 private:
  void giveBack(const std::string &source, uint64_t bytes) {
    std::lock_guard lock(mutex_);
    total_ -= bytes;
    auto entry = bySource_.find(source);
    if (entry != bySource_.end() && (entry->second -= bytes) == 0) bySource_.erase(entry);
  }

  const uint64_t limit_;
  const uint64_t perSource_;
  std::mutex mutex_;
  uint64_t total_ = 0;
  std::map<std::string, uint64_t> bySource_;
};

}  // namespace xfer
