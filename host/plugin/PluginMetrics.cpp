#include "plugin/PluginMetrics.h"

#include <sys/mman.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>
#include <system_error>

namespace wharf::plugin {
namespace {

// Prometheus's metric and label names, lower case: [a-z_][a-z0-9_]*.
bool validName(std::string_view name) {
  if (name.empty() || name.size() > PluginMetrics::kMaxNameLength ||
      std::isdigit(static_cast<unsigned char>(name[0])))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// "key=value,key=value": keys as names, values printable, without ',' or '='.
bool validLabels(std::string_view labels) {
  while (!labels.empty()) {
    size_t comma = labels.find(',');
    std::string_view pair = labels.substr(0, comma);
    size_t equals = pair.find('=');
    if (equals == std::string_view::npos || !validName(pair.substr(0, equals))) return false;
    std::string_view value = pair.substr(equals + 1);
    if (value.size() > PluginMetrics::kMaxNameLength ||
        !std::all_of(value.begin(), value.end(), [](char c) {
          return std::isprint(static_cast<unsigned char>(c)) && c != '=' && c != '"';
        }))
      return false;
    if (comma == std::string_view::npos) break;
    labels.remove_prefix(comma + 1);
  }
  return true;
}

// FNV-1a over the kind, the name and the labels; never 0, which marks a free slot.
uint64_t seriesKey(wharf_metric_kind kind, std::string_view name, std::string_view labels) {
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](unsigned char byte) { hash = (hash ^ byte) * 1099511628211ull; };
  mix(static_cast<unsigned char>(kind));
  for (char c : name) mix(static_cast<unsigned char>(c));
  mix('{');  // no name holds it: "ab"+"c" differs from "a"+"bc"
  for (char c : labels) mix(static_cast<unsigned char>(c));
  return hash == 0 ? 1 : hash;
}

}  // namespace

PluginMetrics::PluginMetrics() {
  void *memory = ::mmap(nullptr, kMaxSeries * sizeof(Slot), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED)
    throw std::system_error(errno, std::generic_category(), "mapping a listener's plugin metrics");
  slots_ = static_cast<Slot *>(memory);
  std::uninitialized_value_construct_n(slots_, kMaxSeries);
}

PluginMetrics::~PluginMetrics() {
  ::munmap(slots_, kMaxSeries * sizeof(Slot));
}

std::atomic<int64_t> *PluginMetrics::valueFor(uint64_t key) {
  for (size_t i = 0; i < kMaxSeries; ++i) {
    uint64_t held = 0;
    if (slots_[i].key.compare_exchange_strong(held, key, std::memory_order_acq_rel) || held == key)
      return &slots_[i].value;
  }
  return nullptr;
}

wharf_metric *PluginMetrics::declare(wharf_metric_kind kind, std::string_view name,
                                     std::string_view help, std::string_view labels,
                                     std::string &why) {
  if (kind != WHARF_METRIC_COUNTER && kind != WHARF_METRIC_GAUGE) {
    why = "unknown kind " + std::to_string(kind);
    return nullptr;
  }
  if (!validName(name)) {
    why = "bad name '" + std::string(name) + "': [a-z_][a-z0-9_]*, at most 64 bytes";
    return nullptr;
  }
  if (kind == WHARF_METRIC_COUNTER && !name.ends_with("_total")) {
    why = "counter '" + std::string(name) + "' must end in _total";
    return nullptr;
  }
  if (!validLabels(labels)) {
    why = "bad labels '" + std::string(labels) + "': key=value,key=value";
    return nullptr;
  }
  std::lock_guard lock(mutex_);
  for (wharf_metric &series : series_) {
    if (series.name != name) continue;
    if (series.kind != kind) {
      why = "'" + std::string(name) + "' was declared as another kind";
      return nullptr;
    }
    if (series.labels == labels) return &series;  // a reload's new instance: the same series
  }
  std::atomic<int64_t> *value = valueFor(seriesKey(kind, name, labels));
  if (value == nullptr) {
    why = "more than " + std::to_string(kMaxSeries) + " series";
    return nullptr;
  }
  wharf_metric &made = series_.emplace_back();
  made.kind = kind;
  made.name = name;
  made.help = help;
  made.labels = labels;
  made.value = value;
  return &made;
}

Poco::JSON::Object::Ptr PluginMetrics::report() const {
  Poco::JSON::Object::Ptr metrics = new Poco::JSON::Object;
  std::lock_guard lock(mutex_);
  for (const wharf_metric &series : series_) {
    Poco::JSON::Object::Ptr metric = metrics->getObject(series.name);
    if (!metric) {
      metric = new Poco::JSON::Object;
      metric->set("kind", series.kind == WHARF_METRIC_COUNTER ? "counter" : "gauge");
      metric->set("help", series.help);
      metric->set("series", Poco::JSON::Object::Ptr(new Poco::JSON::Object));
      metrics->set(series.name, metric);
    }
    metric->getObject("series")->set(series.labels, static_cast<Poco::Int64>(series.value->load()));
  }
  return metrics;
}

}  // namespace wharf::plugin
