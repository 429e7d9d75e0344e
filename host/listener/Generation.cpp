#include "listener/Generation.h"

namespace wharf::listener {

Generation::Generation(uint64_t number, std::unique_ptr<plugin::PluginInstance> instance,
                       session::Style style)
    : number_(number), instance_(std::move(instance)), style_(style) {}

Generation::~Generation() {
  if (retired_)
    instance_->logger().information("generation " + std::to_string(number_) + " (" +
                                    instance_->plugin().name() + " " +
                                    instance_->plugin().version() + ") unloaded");
}

}  // namespace wharf::listener
