// Internal. The metrics a listener's plugin declared (SDK 1.2,
// metric_declare): counters and gauges, each series a name, a kind, a help
// text and fixed labels. They belong to the listener, not to one instance,
// so a reload's new generation continues the same series. Shown in
// `wharfctl status` and in /metrics (wharf_plugin_NAME, with the listener's
// label). The values live in a shared anonymous mapping made with the
// listener, before it forks anything: a `fork` listener's helper and session
// processes find each series' value there by its name and labels, and add to
// the same numbers as the listener's threads would.
#pragma once

#include <Poco/JSON/Object.h>
#include <wharf/wharf.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

// One series: what the plugin's wharf_metric handle points to.
struct wharf_metric {
  wharf_metric_kind kind;
  std::string name;
  std::string help;
  std::string labels;           // "key=value,key=value", as declared; "" for none
  std::atomic<int64_t> *value;  // in the listener's shared mapping
};

namespace wharf::plugin {

class PluginMetrics {
 public:
  static constexpr size_t kMaxSeries = 64;      // per listener
  static constexpr size_t kMaxNameLength = 64;  // and per label key or value

  // Maps the values. Throws std::system_error if mmap fails.
  PluginMetrics();
  ~PluginMetrics();
  PluginMetrics(const PluginMetrics &) = delete;
  PluginMetrics &operator=(const PluginMetrics &) = delete;

  // THREAD: main (on_instance_new). The series, made or, if declared before
  // with the same kind, found; nullptr with the reason in `why`.
  wharf_metric *declare(wharf_metric_kind kind, std::string_view name, std::string_view help,
                        std::string_view labels, std::string &why);
  // THREAD: any. {NAME: {"kind", "help", "series": {LABELS: value}}}.
  Poco::JSON::Object::Ptr report() const;

 private:
  // A series' value, shared with the processes this one forks: `key` names
  // the series (0: free), claimed by whichever process declares it first.
  struct Slot {
    std::atomic<uint64_t> key;
    std::atomic<int64_t> value;
  };
  // The value of the series `key`, claiming a free slot for a new one;
  // nullptr when all are taken.
  std::atomic<int64_t> *valueFor(uint64_t key);

  mutable std::mutex mutex_;
  std::deque<wharf_metric> series_;  // a deque: handles stay where they are
  Slot *slots_;                      // kMaxSeries of them
};

}  // namespace wharf::plugin
