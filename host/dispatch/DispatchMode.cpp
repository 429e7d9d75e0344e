#include "dispatch/DispatchMode.h"

#include <array>

#include "dispatch/ForkDispatcher.h"
#include "dispatch/PoolDispatcher.h"
#include "dispatch/ReactorDispatcher.h"
#include "dispatch/SyncDispatcher.h"
#include "dispatch/ThreadDispatcher.h"

namespace wharf::dispatch {
namespace {

template <typename ConcreteDispatcher>
std::unique_ptr<Dispatcher> make(const DispatchContext &context) {
  return std::make_unique<ConcreteDispatcher>(context);
}

size_t poolWorkers(const config::ListenerConfig &listener) {
  return listener.pool.workers;
}

size_t forkChildren(const config::ListenerConfig &listener) {
  return listener.fork.maxChildren;
}

// A thread per session costs enough that thread mode gets a session bound
// of its own; a pool's and a fork listener's own counts bound theirs.
const std::array<DispatchMode, 5> kModes{{
    {"sync", true, 0, false, make<SyncDispatcher>, {"wait_for_data"}, true, 0, "", false, nullptr},
    {"thread",
     true,
     WHARF_CAP_CONCURRENT,
     false,
     make<ThreadDispatcher>,
     {"wait_for_data"},
     true,
     config::kThreadModeSessions,
     "",
     false,
     nullptr},
    {"pool",
     true,
     WHARF_CAP_CONCURRENT,
     false,
     make<PoolDispatcher>,
     {"workers", "queue", "wait_for_data"},
     true,
     0,
     "workers",
     true,
     poolWorkers},
    {"fork",
     true,
     WHARF_CAP_FORK_SAFE,
     true,
     make<ForkDispatcher>,
     {"max_children", "wait_for_data"},
     true,
     0,
     "max_children",
     false,
     forkChildren},
    {"reactor",
     false,
     0,
     false,
     make<ReactorDispatcher>,
     {"output_high_water"},
     false,
     0,
     "",
     false,
     nullptr},
}};

}  // namespace

session::Style DispatchMode::styleFor(const plugin::Plugin &plugin) const {
  return runsBlockingStyle && plugin.has(WHARF_CAP_BLOCKING) ? session::Style::Blocking
                                                             : session::Style::Event;
}

const DispatchMode *findDispatchMode(std::string_view name) {
  for (const auto &mode : kModes)
    if (mode.name == name) return &mode;
  return nullptr;
}

std::vector<config::ModeDescription> dispatchModeDescriptions() {
  std::vector<config::ModeDescription> modes;
  for (const auto &mode : kModes)
    modes.push_back({std::string(mode.name), mode.keys, mode.holdsSessions, mode.sessionsDefault,
                     std::string(mode.concurrencyKey), mode.concurrencyInThreads,
                     mode.concurrency});
  return modes;
}

}  // namespace wharf::dispatch
