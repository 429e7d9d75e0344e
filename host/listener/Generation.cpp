#include "listener/Generation.h"

namespace wharf::listener {

Generation::Generation(uint64_t number, std::unique_ptr<plugin::PluginInstance> instance,
                       session::Style style)
    : number_(number), instance_(std::move(instance)), style_(style) {}

Generation::~Generation() {
  if (retired_) instance_->logger().information(describe() + " unloaded");
}

std::string Generation::describe() const {
  const plugin::Plugin &plugin = instance_->plugin();
  return "generation " + std::to_string(number_) + " (" + plugin.name() + " " + plugin.version() +
         ")";
}

}  // namespace wharf::listener
