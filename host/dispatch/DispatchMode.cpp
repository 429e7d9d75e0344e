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
    {.name = "sync",
     .runsBlockingStyle = true,
     .requiredCapabilities = 0,
     .startsOnlyAtLaunch = false,
     .create = make<SyncDispatcher>,
     .keys = {"wait_for_data", "migrate", "migrate_timeout"},
     .limits = {.holdsSessions = true}},
    {.name = "thread",
     .runsBlockingStyle = true,
     .requiredCapabilities = WHARF_CAP_CONCURRENT,
     .startsOnlyAtLaunch = false,
     .create = make<ThreadDispatcher>,
     .keys = {"wait_for_data", "migrate", "migrate_timeout"},
     .limits = {.holdsSessions = true, .sessionsDefault = config::kThreadModeSessions}},
    {.name = "pool",
     .runsBlockingStyle = true,
     .requiredCapabilities = WHARF_CAP_CONCURRENT,
     .startsOnlyAtLaunch = false,
     .create = make<PoolDispatcher>,
     .keys = {"pool_threads", "workers", "queue", "wait_for_data", "migrate", "migrate_timeout"},
     .limits = {.holdsSessions = true,
                .concurrencyKey = "pool_threads",
                .concurrencyInThreads = true,
                .concurrency = poolWorkers}},
    {.name = "fork",
     .runsBlockingStyle = true,
     .requiredCapabilities = WHARF_CAP_FORK_SAFE,
     .startsOnlyAtLaunch = true,
     .create = make<ForkDispatcher>,
     .keys = {"max_children", "wait_for_data"},
     .limits = {.holdsSessions = true,
                .concurrencyKey = "max_children",
                .concurrency = forkChildren}},
    {.name = "reactor",
     .runsBlockingStyle = false,
     .requiredCapabilities = 0,
     .startsOnlyAtLaunch = false,
     .create = make<ReactorDispatcher>,
     .keys = {"output_high_water", "send_timeout", "migrate", "migrate_timeout"},
     .limits = {}},
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
  for (const auto &mode : kModes) modes.push_back({std::string(mode.name), mode.keys, mode.limits});
  return modes;
}

}  // namespace wharf::dispatch
