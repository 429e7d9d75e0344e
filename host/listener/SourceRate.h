// Internal. datagram_rate: how many datagrams a second one source (an IP
// address, an IPv6 /64) may have served, with a second's worth as a burst.
// A token bucket per source. The table is bounded: once it holds
// kMaxTrackedSources, sources quiet for a second are forgotten (at most once
// a second), and while it stays full a new source goes uncounted. Spoofed
// sources can fill it, but a reflection's victim is one source, and a flood
// from many is the kernel's and the network's to shed.
// THREAD: any; internally locked.
#pragma once

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace wharf::listener {

class SourceRate {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxTrackedSources = 65536;

  explicit SourceRate(double perSecond) : perSecond_(perSecond), burst_(std::max(1.0, perSecond)) {}

  // Whether one more datagram from `source` is within the rate; counts it if so.
  bool allow(const std::string &source, Clock::time_point now);
  size_t tracked() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point refilled;
  };
  void forgetQuietSources(Clock::time_point now);  // with mutex_ held

  const double perSecond_;
  const double burst_;  // a second's worth, and at least one datagram
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  Clock::time_point lastSweep_{};
};

}  // namespace wharf::listener
