// Internal. Whether a listener takes one more session, and the counts behind
// it: access policy, max_connections, max_per_source, the accept rate, and
// the sessions served and refused (with why). THREAD: any; internally locked.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "config/Config.h"
#include "listener/AccessPolicy.h"
#include "listener/LogThrottle.h"
#include "listener/SourceRate.h"
#include "net/SocketAddress.h"

namespace wharf::listener {

// Why a session was refused. Resources: no thread or process could be had
// for it (a limit of the system, not of the config). WaitForData: its peer
// sent nothing within wait_for_data. MaxDatagram: a datagram larger than
// max_datagram, dropped. ProxyFrom: a connection from outside proxy_from on
// a PROXY protocol listener. ProxyHeader: its PROXY header was missing,
// malformed, or not whole within proxy_timeout.
enum class Refusal {
  Access,
  MaxConnections,
  MaxPerSource,
  QueueFull,
  MaxChildren,
  Resources,
  WaitForData,
  MaxDatagram,
  ProxyFrom,
  ProxyHeader,
  Loop,          // a datagram from a service's port (ReflectorPorts): answering could loop
  DatagramRate,  // past datagram_rate from its source: dropped
  Count
};
const char *refusalName(Refusal refusal);  // "access", "max_connections", ...

class Admission {
 public:
  explicit Admission(const config::ListenerLimits &limits);

  // Holds one admitted session's place; releases it when destroyed.
  class Ticket {
   public:
    Ticket(Ticket &&other) noexcept;
    Ticket(const Ticket &) = delete;
    Ticket &operator=(const Ticket &) = delete;
    Ticket &operator=(Ticket &&) = delete;
    ~Ticket();

   private:
    friend class Admission;
    Ticket(Admission *admission, std::string source)
        : admission_(admission), source_(std::move(source)) {}
    Admission *admission_;
    std::string source_;
  };

  // A ticket for `peer`, or nullopt with `refused` set (and counted).
  std::optional<Ticket> admit(const net::SocketAddress &peer, Refusal &refused);
  // Whether a datagram from `peer` is within datagram_rate; counts it if so.
  bool withinDatagramRate(const net::SocketAddress &peer);
  // Counts refusals decided elsewhere (a full pool queue, silent peers closed).
  void countRefusal(Refusal refusal, uint64_t count = 1);
  // How long to pause before accepting again under accept_rate (zero: go).
  std::chrono::nanoseconds acceptPause();
  // Counts a session taken off the socket against accept_rate. Only what was
  // really accepted counts: an accept that finds nothing costs nothing.
  void spendAcceptToken();

  // Refusals are logged through this, so an attack cannot flood the log.
  LogThrottle &refusalLog() { return refusalLog_; }
  // Failed accepts (out of descriptors) repeat while the shortage lasts.
  LogThrottle &acceptErrorLog() { return acceptErrorLog_; }

  uint64_t active() const { return active_.load(std::memory_order_relaxed); }
  uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  uint64_t refused(Refusal refusal) const {
    return refused_[static_cast<size_t>(refusal)].load(std::memory_order_relaxed);
  }

 private:
  void release(const std::string &source);
  void refillTokens();  // with mutex_ held

  const config::ListenerLimits limits_;
  const AccessPolicy policy_;
  std::mutex mutex_;
  std::map<std::string, size_t> perSource_;
  SourceRate datagramRate_;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
  LogThrottle refusalLog_{10};
  LogThrottle acceptErrorLog_{1};
  std::atomic<uint64_t> active_{0};
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> refused_[static_cast<size_t>(Refusal::Count)] = {};
};

}  // namespace wharf::listener
