#include "listener/Generations.h"

#include <algorithm>

namespace wharf::listener {

GenerationPtr Generations::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void Generations::install(GenerationPtr next, const DrainLimits &limits) {
  {
    std::lock_guard lock(mutex_);
    if (current_) {
      current_->retire();
      retired_.push_back({current_, std::chrono::steady_clock::now(), {}});
    }
    current_ = std::move(next);
  }
  enforce(limits);
}

void Generations::enforce(const DrainLimits &limits) {
  std::lock_guard lock(mutex_);
  std::erase_if(retired_, [](const Retired &retired) { return retired.generation.expired(); });
  auto deadline = std::chrono::steady_clock::now() - limits.drainTimeout;
  size_t beyondCap = retired_.size() + 1 > limits.maxGenerations
                         ? retired_.size() + 1 - std::max<size_t>(limits.maxGenerations, 1)
                         : 0;
  for (size_t i = 0; i < retired_.size(); ++i) {
    if (i < beyondCap)
      cut(retired_[i], "max_generations (" + std::to_string(limits.maxGenerations) + ")");
    else if (retired_[i].since <= deadline)
      cut(retired_[i], "drain_timeout");
  }
}

void Generations::cut(Retired &retired, const std::string &reason) {
  GenerationPtr generation = retired.generation.lock();
  if (!generation) return;
  if (auto line = retired.cut.advance(
          std::chrono::steady_clock::now(), reason,
          "sessions still on generation " + std::to_string(generation->number()),
          [&] { return generation->live().cutAll(session::CutReason::Drain); }))
    generation->instance().logger().warning(*line);
}

size_t Generations::cutAll(session::CutReason why) {
  std::vector<GenerationPtr> all;
  {
    std::lock_guard lock(mutex_);
    if (current_) all.push_back(current_);
    for (const auto &retired : retired_)
      if (GenerationPtr generation = retired.generation.lock()) all.push_back(generation);
  }
  size_t cut = 0;
  for (const auto &generation : all) cut += generation->live().cutAll(why);
  return cut;
}

std::vector<Generations::Loaded> Generations::loaded() const {
  std::vector<GenerationPtr> all;
  {
    std::lock_guard lock(mutex_);
    if (current_) all.push_back(current_);
    for (auto retired = retired_.rbegin(); retired != retired_.rend(); ++retired)
      if (GenerationPtr generation = retired->generation.lock()) all.push_back(generation);
  }
  std::vector<Loaded> out;
  for (auto &generation : all) {
    size_t sessions = generation->live().size();
    out.push_back({std::move(generation), sessions});
  }
  return out;
}

}  // namespace wharf::listener
