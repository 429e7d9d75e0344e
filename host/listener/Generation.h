// Internal. One generation of a listener's plugin: the instance made of one
// loaded copy of the plugin with one set of options, and the sessions it
// serves. A reload makes a new generation current; every session pins the
// generation it was admitted under (shared_ptr), so a retired generation's
// code stays mapped until its last session ends, then is unloaded.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "plugin/PluginInstance.h"
#include "session/LiveSessions.h"
#include "session/Session.h"

namespace wharf::listener {

class Generation {
 public:
  Generation(uint64_t number, std::unique_ptr<plugin::PluginInstance> instance,
             session::Style style);
  ~Generation();  // logs the unload of a retired generation
  Generation(const Generation &) = delete;
  Generation &operator=(const Generation &) = delete;

  uint64_t number() const { return number_; }
  plugin::PluginInstance &instance() const { return *instance_; }
  session::Style style() const { return style_; }
  session::LiveSessions &live() { return live_; }
  // "generation 3 (echo 1.0.0)", as the log and reload reports name it.
  std::string describe() const;

  // THREAD: any. Marks it no longer current; it is unloaded with its last session.
  void retire() { retired_ = true; }

 private:
  uint64_t number_;
  std::unique_ptr<plugin::PluginInstance> instance_;
  session::Style style_;
  session::LiveSessions live_;
  std::atomic<bool> retired_ = false;
};

using GenerationPtr = std::shared_ptr<Generation>;

}  // namespace wharf::listener
