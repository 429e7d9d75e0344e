// option.max_in_flight: the bytes this listener's uploads under way have
// declared (and reserved on disk). A put that would take them past it is
// refused, so a few uploads that stall cannot claim the disk from every other
// client. Shared by the sessions of one instance: one worker process (mode =
// fork: one session's process, where it bounds that session alone).
// THREAD: any; lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <utility>

namespace xfer {

class InFlight {
 public:
  explicit InFlight(uint64_t limit) : limit_(limit) {}  // 0: no limit

  // Bytes claimed; given back when destroyed. Empty: nothing claimed.
  class Claim {
   public:
    Claim() = default;
    Claim(Claim &&other) noexcept { *this = std::move(other); }
    Claim &operator=(Claim &&other) noexcept {
      if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
      }
      return *this;
    }
    ~Claim() { release(); }

   private:
    friend class InFlight;
    Claim(InFlight *owner, uint64_t bytes) : owner_(owner), bytes_(bytes) {}
    void release() {
      if (owner_ != nullptr) owner_->bytes_.fetch_sub(bytes_, std::memory_order_relaxed);
      owner_ = nullptr;
      bytes_ = 0;
    }
    InFlight *owner_ = nullptr;
    uint64_t bytes_ = 0;
  };

  // A claim on `bytes`, or nothing if they would take the total past the limit.
  std::optional<Claim> claim(uint64_t bytes) {
    uint64_t before = bytes_.fetch_add(bytes, std::memory_order_relaxed);
    if (limit_ != 0 && (before + bytes > limit_ || before + bytes < before)) {
      bytes_.fetch_sub(bytes, std::memory_order_relaxed);
      return std::nullopt;
    }
    return Claim(this, bytes);
  }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> bytes_{0};
};

}  // namespace xfer
