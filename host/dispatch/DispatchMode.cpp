#include "dispatch/DispatchMode.h"

#include <array>

#include "dispatch/SyncDispatcher.h"
#include "dispatch/ThreadDispatcher.h"

namespace wharf::dispatch {
namespace {

template <typename ConcreteDispatcher>
std::unique_ptr<Dispatcher> make(const DispatchContext &context) {
  return std::make_unique<ConcreteDispatcher>(context);
}

const std::array<DispatchMode, 2> kModes{{
    {"sync", true, false, make<SyncDispatcher>},
    {"thread", true, true, make<ThreadDispatcher>},
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

std::vector<std::string> dispatchModeNames() {
  std::vector<std::string> names;
  for (const auto &mode : kModes) names.emplace_back(mode.name);
  return names;
}

}  // namespace wharf::dispatch
