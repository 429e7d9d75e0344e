#include "listener/Admission.h"

#include <algorithm>
#include <utility>

#include "listener/PeerSource.h"

namespace wharf::listener {

const char *refusalName(Refusal refusal) {
  switch (refusal) {
    case Refusal::Access:
      return "access";
    case Refusal::MaxConnections:
      return "max_connections";
    case Refusal::MaxPerSource:
      return "max_per_source";
    case Refusal::QueueFull:
      return "queue_full";
    case Refusal::MaxChildren:
      return "max_children";
    case Refusal::Resources:
      return "resources";
    case Refusal::WaitForData:
      return "wait_for_data";
    case Refusal::MaxDatagram:
      return "max_datagram";
    case Refusal::ProxyFrom:
      return "proxy_from";
    case Refusal::ProxyHeader:
      return "proxy_header";
    case Refusal::Loop:
      return "loop";
    case Refusal::DatagramRate:
      return "datagram_rate";
    case Refusal::Count:
      break;
  }
  return "?";
}

Admission::Admission(const config::ListenerLimits &limits)
    : limits_(limits),
      policy_(limits.allow, limits.deny),
      datagramRate_(limits.datagramRate),
      tokens_(std::max(1.0, limits.acceptRate)),
      refilled_(std::chrono::steady_clock::now()) {}

Admission::Ticket::Ticket(Ticket &&other) noexcept
    : admission_(std::exchange(other.admission_, nullptr)), source_(std::move(other.source_)) {}

Admission::Ticket::~Ticket() {
  if (admission_ != nullptr) admission_->release(source_);
}

std::optional<Admission::Ticket> Admission::admit(const net::SocketAddress &peer,
                                                  Refusal &refused) {
  if (!policy_.empty() && !policy_.refusal(peer).empty()) {
    countRefusal(refused = Refusal::Access);
    return std::nullopt;
  }
  // A place first, without a lock; given back if the session is refused.
  if (active_.fetch_add(1, std::memory_order_relaxed) >= limits_.maxConnections) {
    active_.fetch_sub(1, std::memory_order_relaxed);
    countRefusal(refused = Refusal::MaxConnections);
    return std::nullopt;
  }
  bool counted =
      limits_.maxPerSource != 0 && !(limits_.perSourceSparesLoopback && peer.isLoopback());
  std::string source = counted ? peerSource(peer) : "";
  if (!source.empty()) {
    std::lock_guard lock(mutex_);
    if (perSource_[source] >= limits_.maxPerSource) {
      active_.fetch_sub(1, std::memory_order_relaxed);
      countRefusal(refused = Refusal::MaxPerSource);
      return std::nullopt;
    }
    ++perSource_[source];
  }
  total_.fetch_add(1, std::memory_order_relaxed);
  return Ticket(this, std::move(source));
}

bool Admission::withinDatagramRate(const net::SocketAddress &peer) {
  if (limits_.datagramRate <= 0 || (limits_.datagramRateSparesLoopback && peer.isLoopback()))
    return true;
  std::string source = peerSource(peer);
  return source.empty() || datagramRate_.allow(source, SourceRate::Clock::now());
}

void Admission::countRefusal(Refusal refusal, uint64_t count) {
  refused_[static_cast<size_t>(refusal)].fetch_add(count, std::memory_order_relaxed);
}

std::chrono::nanoseconds Admission::acceptPause() {
  if (limits_.acceptRate <= 0) return std::chrono::nanoseconds::zero();
  std::lock_guard lock(mutex_);
  refillTokens();
  if (tokens_ >= 1) return std::chrono::nanoseconds::zero();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>((1 - tokens_) / limits_.acceptRate));
}

void Admission::spendAcceptToken() {
  if (limits_.acceptRate <= 0) return;
  std::lock_guard lock(mutex_);
  refillTokens();
  tokens_ -= 1;  // may go below zero when a burst was already waiting: the pause is longer
}

void Admission::refillTokens() {
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - refilled_).count();
  refilled_ = now;
  // A burst of one second's worth, so a steady rate never pauses.
  tokens_ = std::min(std::max(1.0, limits_.acceptRate), tokens_ + elapsed * limits_.acceptRate);
}

void Admission::release(const std::string &source) {
  if (source.empty()) {
    active_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  std::lock_guard lock(mutex_);
  active_.fetch_sub(1, std::memory_order_relaxed);
  auto entry = perSource_.find(source);
  if (entry != perSource_.end() && --entry->second == 0) perSource_.erase(entry);
}

}  // namespace wharf::listener
