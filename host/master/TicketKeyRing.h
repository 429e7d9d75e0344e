// Internal. The TLS session ticket keys the master makes and rotates, for
// each listener with tls = on and tls_tickets = on, and passes to the
// workers that serve it (WorkerSet), so that a client resumes whichever
// worker it lands on, after a reload and after a binary upgrade (which
// carries the ring). Keys come from the kernel's random source and live in
// memory only: passed in sealed memory files, never logged or written to a
// file.
//
// A ring per listener, not one for the daemon: a worker holds only its own
// listeners' keys (as it holds only their certificates), and a ticket one
// listener issued opens no session on another (another service, another
// client verification).
//
// Each ring holds three keys, as HAProxy's tls-ticket-keys does: the current
// one seals new tickets; the previous one still opens those sealed before
// the last rotation; the next one opens too, and seals from the next
// rotation on, so that a worker that takes a rotation a moment before
// another issues tickets the other already opens. A rotation drops the
// previous key: a ticket is good for one to two rotations, and a key that
// leaks opens tickets for up to three (it is held as next, current, then
// previous); a purge replaces all three.
// THREAD: main.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/Config.h"
#include "tls/TicketKey.h"

namespace wharf::master {

class TicketKeyRing {
 public:
  using Clock = std::chrono::steady_clock;

  // Rings for the listeners of `config` with tickets: kept for those that
  // have one (a changed tls_ticket_rotation counts from the last rotation),
  // made for the others; the rest are dropped. Throws std::system_error if
  // the kernel gives no random bytes.
  void follow(const config::Config &config);
  // Rotates the rings whose time has come, or every one (`all`: `wharfctl
  // rotate-tickets`); returns their listeners.
  std::vector<std::string> rotate(bool all);
  // Replaces every key of every ring (`wharfctl purge-tickets`: keys thought
  // exposed; the next key, which every worker holds ahead, included): no
  // ticket issued before opens again. Returns the listeners.
  std::vector<std::string> purge();
  // `listener`'s keys as its workers take them (tls::decodeTicketKeys): the
  // one that seals first. Empty: it has no tickets.
  std::string passedForm(const std::string &listener) const;

  // Every ring, for the binary an upgrade executes, and taken back there
  // (before follow()). Throws std::invalid_argument on a form it cannot read.
  std::string handOver() const;
  void takeOver(std::string_view form);

 private:
  struct Ring {
    tls::TicketKey previous, current, next;
    Clock::time_point rotated;
    std::chrono::milliseconds period;
  };

  std::map<std::string, Ring> rings_;
};

}  // namespace wharf::master
