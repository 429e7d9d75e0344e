#include "master/TicketKeyRing.h"

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace wharf::master {
namespace {

// The hand-over form, per ring: the listener's name and a NUL, the
// milliseconds since its last rotation (8 bytes, this host's order: the same
// host reads them), then its previous, current and next keys.
constexpr size_t kKeysPerRing = 3;

void appendAge(std::string &form, int64_t milliseconds) {
  form.append(reinterpret_cast<const char *>(&milliseconds), sizeof milliseconds);
}

}  // namespace

void TicketKeyRing::follow(const config::Config &config) {
  std::map<std::string, Ring> rings;
  for (const auto &listener : config.listeners) {
    if (!listener.tls.enabled || !listener.tls.tickets) continue;
    auto kept = rings_.find(listener.name);
    Ring ring = kept != rings_.end() ? kept->second
                                     : Ring{tls::randomTicketKey(),
                                            tls::randomTicketKey(),
                                            tls::randomTicketKey(),
                                            Clock::now(),
                                            {}};
    ring.period = listener.tls.ticketRotation;
    rings.emplace(listener.name, ring);
  }
  rings_ = std::move(rings);
}

std::vector<std::string> TicketKeyRing::rotate(bool all) {
  std::vector<std::string> rotated;
  auto now = Clock::now();
  for (auto &[listener, ring] : rings_) {
    if (!all && now < ring.rotated + ring.period) continue;
    ring.previous = ring.current;
    ring.current = ring.next;
    ring.next = tls::randomTicketKey();
    ring.rotated = now;
    rotated.push_back(listener);
  }
  return rotated;
}

std::vector<std::string> TicketKeyRing::purge() {
  std::vector<std::string> purged;
  auto now = Clock::now();
  for (auto &[listener, ring] : rings_) {
    ring.previous = tls::randomTicketKey();
    ring.current = tls::randomTicketKey();
    ring.next = tls::randomTicketKey();
    ring.rotated = now;
    purged.push_back(listener);
  }
  return purged;
}

std::string TicketKeyRing::passedForm(const std::string &listener) const {
  auto found = rings_.find(listener);
  if (found == rings_.end()) return "";
  const Ring &ring = found->second;
  return tls::encodeTicketKeys({ring.current, ring.next, ring.previous});
}

std::string TicketKeyRing::handOver() const {
  std::string form;
  auto now = Clock::now();
  for (const auto &[listener, ring] : rings_) {
    form += listener;
    form += '\0';
    appendAge(form,
              std::chrono::duration_cast<std::chrono::milliseconds>(now - ring.rotated).count());
    form += tls::encodeTicketKeys({ring.previous, ring.current, ring.next});
  }
  return form;
}

void TicketKeyRing::takeOver(std::string_view form) {
  auto now = Clock::now();
  while (!form.empty()) {
    size_t end = form.find('\0');
    constexpr size_t kRest = sizeof(int64_t) + kKeysPerRing * tls::kTicketKeySize;
    if (end == std::string_view::npos || form.size() - end - 1 < kRest)
      throw std::invalid_argument("session ticket keys handed over: a ring cut short");
    std::string listener(form.substr(0, end));
    int64_t age = 0;
    std::memcpy(&age, form.data() + end + 1, sizeof age);
    auto keys = tls::decodeTicketKeys(
        form.substr(end + 1 + sizeof age, kKeysPerRing * tls::kTicketKeySize));
    rings_[listener] = Ring{keys[0], keys[1], keys[2], now - std::chrono::milliseconds(age), {}};
    form.remove_prefix(end + 1 + kRest);
  }
}

}  // namespace wharf::master
