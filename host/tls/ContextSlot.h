// Internal. A TLS listener's current context, which a reload replaces in
// place (a renewed certificate, other protocols or ciphers): each new
// connection takes the one current then, and keeps it to its end, so
// sessions already open are not touched and the listener is not restarted
// (its counters, plugin instance and sessions all stay).
// THREAD: any.
#pragma once

#include <memory>
#include <mutex>

#include "config/Config.h"
#include "tls/ServerContext.h"

namespace wharf::tls {

class ContextSlot {
 public:
  // Throws SettingsError as ServerContext does.
  explicit ContextSlot(const config::TlsSettings &settings)
      : settings_(settings), context_(std::make_shared<const ServerContext>(settings)) {}

  std::shared_ptr<const ServerContext> current() const {
    std::lock_guard lock(mutex_);
    return context_;
  }
  // THREAD: the worker's reloads (under its lock), as replace().
  const config::TlsSettings &settings() const { return settings_; }
  // THREAD: as settings(). `context` was built from `settings` (reload builds it
  // before anything changes, so that a refused one changes nothing).
  void replace(const config::TlsSettings &settings, std::shared_ptr<const ServerContext> context) {
    settings_ = settings;
    std::lock_guard lock(mutex_);
    context_ = std::move(context);
  }

 private:
  config::TlsSettings settings_;
  mutable std::mutex mutex_;
  std::shared_ptr<const ServerContext> context_;
};

}  // namespace wharf::tls
