// Internal. The metrics a listener's plugin declared (SDK 1.2,
// metric_declare): counters and gauges, each series a name, a kind, a help
// text and fixed labels. They belong to the listener, not to one instance,
// so a reload's new generation continues the same series. Shown in
// `wharfctl status` and in /metrics (wharf_plugin_NAME, with the listener's
// label). In fork mode, updates made in session processes are not seen.
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
  std::string labels;  // "key=value,key=value", as declared; "" for none
  std::atomic<int64_t> value{0};
};

namespace wharf::plugin {

class PluginMetrics {
 public:
  static constexpr size_t kMaxSeries = 64;      // per listener
  static constexpr size_t kMaxNameLength = 64;  // and per label key or value

  // THREAD: main (on_instance_new). The series, made or, if declared before
  // with the same kind, found; nullptr with the reason in `why`.
  wharf_metric *declare(wharf_metric_kind kind, std::string_view name, std::string_view help,
                        std::string_view labels, std::string &why);
  // THREAD: any. {NAME: {"kind", "help", "series": {LABELS: value}}}.
  Poco::JSON::Object::Ptr report() const;

 private:
  mutable std::mutex mutex_;
  std::deque<wharf_metric> series_;  // a deque: handles stay where they are
};

}  // namespace wharf::plugin
