// Internal. A TLS listener's current context, which a reload replaces in
// place (a renewed certificate, other protocols or ciphers): each new
// connection takes the one current then, and keeps it to its end, so
// sessions already open are not touched and the listener is not restarted
// (its counters, plugin instance and sessions all stay). Each context seals
// tickets with the listener's keys, so a ticket outlives the context.
// THREAD: any.
#pragma once

#include <memory>
#include <mutex>

#include "config/Config.h"
#include "tls/ServerContext.h"

namespace wharf::tls {

class ContextSlot {
 public:
  // Throws SettingsError as ServerContext does. `ticketKeys`: the
  // listener's, which every context it gets uses.
  ContextSlot(const config::TlsSettings &settings, std::shared_ptr<TicketKeys> ticketKeys)
      : settings_(settings),
        ticketKeys_(std::move(ticketKeys)),
        context_(std::make_shared<const ServerContext>(settings, ticketKeys_)) {}

  std::shared_ptr<const ServerContext> current() const {
    std::lock_guard lock(mutex_);
    return context_;
  }
  // THREAD: the worker's reloads (under its lock), as replace().
  const config::TlsSettings &settings() const { return settings_; }
  const std::shared_ptr<TicketKeys> &ticketKeys() const { return ticketKeys_; }
  // THREAD: as settings(). `context` was built from `settings` (reload builds it
  // before anything changes, so that a refused one changes nothing).
  void replace(const config::TlsSettings &settings, std::shared_ptr<const ServerContext> context) {
    settings_ = settings;
    std::lock_guard lock(mutex_);
    context_ = std::move(context);
  }

 private:
  config::TlsSettings settings_;
  std::shared_ptr<TicketKeys> ticketKeys_;
  mutable std::mutex mutex_;
  std::shared_ptr<const ServerContext> context_;
};

}  // namespace wharf::tls
