#include "plugin/HookCall.h"

#include <cstdio>

#include "logging/PrintableText.h"
#include "net/BusyLoops.h"
#include "plugin/PluginInstance.h"

namespace wharf::plugin {

RunningHook::RunningHook(const PluginInstance &instance, const char *hook, HookSite site) noexcept
    : instance_(instance),
      hook_(hook),
      site_(site),
      started_(std::chrono::steady_clock::now()),
      onThread_(instance.listenerName(), hook, site != HookSite::Instance),
      loop_(net::hookLoop()) {
  // The outermost hook marks the loop: a nested one ending leaves it busy.
  if (loop_ && loop_->isDispatching()) loop_ = nullptr;
  if (loop_) loop_->dispatching();
}

RunningHook::~RunningHook() {
  if (loop_) loop_->waiting();
  auto took = std::chrono::steady_clock::now() - started_;
  if (site_ != HookSite::SharedLoop || took <= kStallThreshold) return;
  try {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", std::chrono::duration<double>(took).count());
    instance_.logger().warning(instance_.describe() + ": " + hook_ + " ran for " + seconds +
                               " s on an event loop; the loop's other sessions waited (hooks "
                               "there must not block: use a thread and a waker)");
  } catch (...) {  // no memory for the line
  }
}

std::string escapedText(std::exception_ptr thrown) noexcept {
  try {
    try {
      std::rethrow_exception(thrown);
    } catch (const std::exception &error) {
      return "an exception escaped it: " + logging::printable(error.what());
    } catch (...) {
      return "an exception of unknown type escaped it";
    }
  } catch (...) {  // no memory for the text: a short one needs none
    return "it threw";
  }
}

}  // namespace wharf::plugin
