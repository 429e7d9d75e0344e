#include "metrics/PrometheusText.h"

#include <Poco/JSON/Array.h>

#include <algorithm>
#include <array>
#include <map>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "net/Endpoint.h"
#include "session/Traffic.h"

namespace wharf::metrics {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// \ and newline escaped, as the format requires of HELP text; a label value
// (`quoted`) has its " escaped too.
std::string escaped(const std::string &value, bool quoted = true) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || (quoted && c == '"')) out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out;
}

// Metric families in order of first use; each one's samples together, as
// the format requires. A sample whose name and labels are already there is
// combined with it: the serving and the draining entries of one listener are
// one series, so that a drain or an upgrade changes no series' labels.
class Exposition {
 public:
  enum class Combine { Sum, Max, Min };

  void add(const std::string &name, const std::string &type, const std::string &help,
           const Labels &labels, double value, Combine combine = Combine::Sum) {
    addSample(name, "", type, help, labels, value, combine);
  }

  // A sample named `name` + `suffix` in family `name` (a histogram's _bucket, _sum, _count).
  // A sample of a family of another type is left out (two plugins' metrics
  // of one name but different kinds).
  void addSample(const std::string &name, const char *suffix, const std::string &type,
                 const std::string &help, const Labels &labels, double value,
                 Combine combine = Combine::Sum) {
    auto family = families_.find(name);
    if (family == families_.end()) {
      order_.push_back(name);
      family = families_.emplace(name, Family{type, help, {}, {}}).first;
    }
    if (family->second.type != type) return;
    std::string series = name + suffix;
    if (!labels.empty()) {
      series += '{';
      for (size_t i = 0; i < labels.size(); ++i)
        series += (i ? "," : "") + labels[i].first + "=\"" + escaped(labels[i].second) + '"';
      series += '}';
    }
    auto [known, fresh] = family->second.index.emplace(series, family->second.samples.size());
    if (fresh) {
      family->second.samples.emplace_back(series, value);
      return;
    }
    double &sum = family->second.samples[known->second].second;
    sum = combine == Combine::Sum   ? sum + value
          : combine == Combine::Max ? std::max(sum, value)
                                    : std::min(sum, value);
  }

  std::string text() const {
    std::ostringstream out;
    out.precision(17);
    for (const auto &name : order_) {
      const Family &family = families_.at(name);
      out << "# HELP " << name << " " << family.help << "\n# TYPE " << name << " " << family.type
          << "\n";
      for (const auto &[series, value] : family.samples) out << series << ' ' << value << '\n';
    }
    return out.str();
  }

 private:
  struct Family {
    std::string type;
    std::string help;
    std::vector<std::pair<std::string, double>> samples;  // in order of first use
    std::map<std::string, size_t> index;                  // series → its place in samples
  };
  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

double number(const Poco::JSON::Object &object, const std::string &key) {
  return object.has(key) ? object.getValue<double>(key) : 0;
}

void addProcess(Exposition &out, const Poco::JSON::Object &process, const Labels &labels) {
  if (process.has("rss_bytes"))
    out.add("wharf_process_resident_memory_bytes", "gauge", "Resident memory of the process.",
            labels, number(process, "rss_bytes"));
  if (process.has("cpu_seconds"))
    out.add("wharf_process_cpu_seconds_total", "counter",
            "User and system CPU time the process has used.", labels,
            number(process, "cpu_seconds"));
  if (process.has("open_fds"))
    out.add("wharf_process_open_fds", "gauge", "Open file descriptors of the process.", labels,
            number(process, "open_fds"));
  if (process.has("max_fds"))
    out.add("wharf_process_max_fds", "gauge",
            "The most file descriptors the process may open (RLIMIT_NOFILE).", labels,
            number(process, "max_fds"));
  if (process.has("threads"))
    out.add("wharf_process_threads", "gauge", "Threads of the process.", labels,
            number(process, "threads"));
  if (process.has("plugin_stale_handles"))
    out.add("wharf_plugin_stale_handles_total", "counter",
            "Plugin calls with a session, instance or waker handle that had ended (each got "
            "WHARF_CLOSED and reached nothing).",
            labels, number(process, "plugin_stale_handles"));
}

// A histogram from non-cumulative `buckets` (the last one +Inf) over `bounds`.
template <size_t N>
void addHistogram(Exposition &out, const char *name, const char *help, const Labels &labels,
                  const Poco::JSON::Array &buckets, const std::array<double, N> &bounds,
                  double sumSeconds) {
  double cumulative = 0;
  for (unsigned i = 0; i < buckets.size(); ++i) {
    cumulative += buckets.getElement<double>(i);
    std::ostringstream bound;
    bound << (i < N ? bounds[i] : 0);
    Labels withBound = labels;
    withBound.emplace_back("le", i < N ? bound.str() : "+Inf");
    out.addSample(name, "_bucket", "histogram", help, withBound, cumulative);
  }
  out.addSample(name, "_sum", "histogram", help, labels, sumSeconds);
  out.addSample(name, "_count", "histogram", help, labels, cumulative);
}

// A counter per key of `counts` (a JSON object of numbers), the key as label `label`.
void addCounts(Exposition &out, const char *name, const char *help, const Labels &labels,
               const char *label, const Poco::JSON::Object::Ptr &counts) {
  if (!counts) return;
  for (const auto &[key, count] : *counts) {
    Labels withKey = labels;
    withKey.emplace_back(label, key);
    out.add(name, "counter", help, withKey, count.convert<double>());
  }
}

// tls = on: handshakes by version (all, and those resumed), failures by reason.
void addTls(Exposition &out, const Poco::JSON::Object &tls, const Labels &labels) {
  addCounts(out, "wharf_tls_handshakes_total",
            "TLS handshakes completed, by the protocol version agreed on.", labels, "version",
            tls.getObject("handshakes"));
  addCounts(out, "wharf_tls_resumed_handshakes_total",
            "TLS handshakes that resumed a session with a ticket (of those completed), by the "
            "protocol version agreed on.",
            labels, "version", tls.getObject("resumed"));
  addCounts(out, "wharf_tls_handshake_failures_total",
            "TLS handshakes that failed or did not finish within tls_handshake_timeout, by reason "
            "(timeout, closed, protocol_version, no_shared_cipher, not_tls, client_certificate, "
            "no_application_protocol, other).",
            labels, "reason", tls.getObject("failures"));
}

// What sessions amount to: bytes, endings, errors, durations.
void addTraffic(Exposition &out, const Poco::JSON::Object &sessions, const Labels &labels) {
  out.add("wharf_listener_received_bytes_total", "counter",
          "Bytes received from peers (a running session adds its own each second).", labels,
          number(sessions, "bytes_in"));
  out.add("wharf_listener_sent_bytes_total", "counter",
          "Bytes sent to peers (a running session adds its own each second).", labels,
          number(sessions, "bytes_out"));
  out.add("wharf_listener_hook_errors_total", "counter",
          "Plugin hooks that failed (each closes its session).", labels,
          number(sessions, "hook_errors"));
  out.add("wharf_listener_access_log_dropped_total", "counter",
          "Access log lines dropped (the log could not take them at once).", labels,
          number(sessions, "access_log_dropped"));
  addCounts(out, "wharf_listener_sessions_ended_total",
            "Finished sessions, by how they ended (client, plugin, idle_timeout, send_timeout, "
            "output_budget, cut, error, tls_handshake).",
            labels, "how", sessions.getObject("ended"));
  if (Poco::JSON::Array::Ptr buckets = sessions.getArray("duration_buckets"))
    addHistogram(out, "wharf_listener_session_duration_seconds",
                 "How long finished sessions lasted.", labels, *buckets, session::kDurationBounds,
                 number(sessions, "duration_us_sum") / 1e6);
  if (Poco::JSON::Object::Ptr tls = sessions.getObject("tls")) addTls(out, *tls, labels);
  addCounts(out, "wharf_listener_sessions_migrated_total",
            "Sessions of older plugin generations a reload tried to carry onto the new one "
            "(migrate = on), by outcome: moved, refused (by the old code's export or the new "
            "code's import), left (not quiescent within migrate_timeout).",
            labels, "outcome", sessions.getObject("migrated"));
  Poco::JSON::Object::Ptr lag = sessions.getObject("loop_lag");
  Poco::JSON::Array::Ptr lagBuckets = lag ? lag->getArray("buckets") : nullptr;
  if (lagBuckets)
    addHistogram(out, "wharf_loop_lag_seconds",
                 "How long each batch of events held a reactor listener's loop: the most a "
                 "ready event waited.",
                 labels, *lagBuckets, session::kLoopLagBounds, number(*lag, "us_sum") / 1e6);
}

// What the listener's plugin declared (metric_declare): wharf_plugin_NAME,
// with the listener's labels and the series' own.
void addPluginMetrics(Exposition &out, const Poco::JSON::Object &metrics, const Labels &labels) {
  for (const auto &[name, value] : metrics) {
    if (value.type() != typeid(Poco::JSON::Object::Ptr)) continue;
    const Poco::JSON::Object &metric = *value.extract<Poco::JSON::Object::Ptr>();
    Poco::JSON::Object::Ptr series = metric.getObject("series");
    if (!series || !metric.has("kind") || !metric.has("help")) continue;
    std::string kind = metric.getValue<std::string>("kind");
    std::string help = escaped(metric.getValue<std::string>("help"), false);
    for (const auto &[declared, count] : *series) {
      Labels withOwn = labels;
      std::string_view rest = declared;
      while (!rest.empty()) {  // "key=value,key=value", checked when declared
        std::string_view pair = rest.substr(0, rest.find(','));
        size_t equals = pair.find('=');
        withOwn.emplace_back(std::string(pair.substr(0, equals)),
                             std::string(pair.substr(equals + 1)));
        rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
      }
      out.add("wharf_plugin_" + name, kind, help.empty() ? "Declared by the plugin." : help,
              withOwn, count.convert<double>());
    }
  }
}

void addZones(Exposition &out, const Poco::JSON::Array &zones, const Labels &labels) {
  for (size_t i = 0; i < zones.size(); ++i) {
    Poco::JSON::Object::Ptr zone = zones.getObject(static_cast<unsigned>(i));
    if (!zone || !zone->has("name")) continue;
    Labels withZone = labels;
    withZone.emplace_back("zone", zone->getValue<std::string>("name"));
    out.add("wharf_zone_size_bytes", "gauge", "A shared zone's size (zone_declare).", withZone,
            number(*zone, "size"), Exposition::Combine::Max);
    out.add("wharf_zone_used_bytes", "gauge",
            "Bytes of a shared zone in blocks the plugin holds (power-of-two sized).", withZone,
            number(*zone, "used"), Exposition::Combine::Max);
  }
}

constexpr const char *kListenerStates[] = {"serving", "draining"};
constexpr const char *kWorkerStates[] = {"serving", "draining", "replacing"};

void addListeners(Exposition &out, const Poco::JSON::Array &listeners) {
  for (size_t i = 0; i < listeners.size(); ++i) {
    Poco::JSON::Object::Ptr listener = listeners.getObject(static_cast<unsigned>(i));
    Poco::JSON::Object::Ptr plugin = listener->getObject("plugin");
    Poco::JSON::Object::Ptr sessions = listener->getObject("sessions");
    std::string name = listener->getValue<std::string>("name");
    Labels labels{{"listener", name},
                  {"transport", listener->getValue<std::string>("transport")},
                  {"mode", listener->getValue<std::string>("mode")},
                  {"plugin", plugin->getValue<std::string>("name")}};
    out.add("wharf_listener_sessions_active", "gauge", "Sessions being served.", labels,
            number(*sessions, "active"));
    out.add("wharf_listener_sessions_accepted_total", "counter",
            "Sessions admitted since the workers started.", labels, number(*sessions, "total"));
    Poco::JSON::Object::Ptr refused = sessions->getObject("refused");
    addCounts(out, "wharf_listener_sessions_refused_total",
              "Sessions refused, by reason (as in wharfctl status --json).", labels, "reason",
              refused);
    addTraffic(out, *sessions, labels);
    auto transport = net::parseTransport(listener->getValue<std::string>("transport"));
    if (transport && !net::isStream(*transport)) {
      double dropped = 0;
      for (const auto &[reason, count] : *refused) dropped += count.convert<double>();
      out.add("wharf_listener_datagrams_received_total", "counter",
              "Datagrams read from the socket (served or dropped).", labels,
              number(*sessions, "total") + dropped);
      out.add("wharf_listener_datagrams_dropped_total", "counter",
              "Datagrams dropped unserved (the refusals, by any reason).", labels, dropped);
    }
    out.add("wharf_listener_plugin_generation", "gauge", "The plugin generation new sessions get.",
            labels, number(*plugin, "generation"), Exposition::Combine::Max);
    out.add("wharf_listener_paused_workers", "gauge",
            "Workers where the listener waits before accepting again, its plugin having crashed "
            "the worker before (a crash loop).",
            labels, number(*listener, "paused_workers"));
    out.add("wharf_listener_plugin_generations_loaded", "gauge",
            "Plugin generations loaded, the current one included.", labels,
            number(*plugin, "generations_loaded"), Exposition::Combine::Max);
    std::string state = listener->getValue<std::string>("state");
    for (const char *each : kListenerStates)
      out.add("wharf_listener_workers", "gauge",
              "Workers that hold the listener, by state: serving, or draining (after a reload "
              "or an upgrade replaced them).",
              {{"listener", name}, {"state", each}},
              state == each ? number(*listener, "workers") : 0);
    // The certificate new sessions get (a draining listener's is on its way out).
    Poco::JSON::Object::Ptr certificate = listener->getObject("tls_certificate");
    if (certificate && state == "serving")
      out.add("wharf_tls_certificate_expiry_timestamp_seconds", "gauge",
              "When the certificate a TLS listener serves expires, in seconds since the Unix "
              "epoch.",
              {labels[0]}, number(*certificate, "expires"), Exposition::Combine::Min);
    if (Poco::JSON::Object::Ptr metrics = listener->getObject("plugin_metrics"))
      addPluginMetrics(out, *metrics, {labels[0]});
    if (Poco::JSON::Array::Ptr zones = listener->getArray("zones"))
      addZones(out, *zones, {labels[0]});
  }
}

void addWorkers(Exposition &out, const Poco::JSON::Array &workers, double now) {
  std::map<std::string, int> slots;  // per group, in the order the master lists them
  for (size_t i = 0; i < workers.size(); ++i) {
    Poco::JSON::Object::Ptr worker = workers.getObject(static_cast<unsigned>(i));
    std::string group = worker->getValue<std::string>("group");
    std::string slot = std::to_string(slots[group]++);
    Labels labels{{"group", group}, {"slot", slot}};
    std::string state = worker->getValue<std::string>("state");
    for (const char *each : kWorkerStates) {
      Labels withState = labels;
      withState.emplace_back("state", each);
      out.add("wharf_worker_state", "gauge",
              "1 for the state the worker slot is in: serving, draining (replaced by a reload "
              "or an upgrade, finishing its sessions) or replacing (its process died).",
              withState, state == each ? 1 : 0);
    }
    out.add("wharf_worker_restarts_total", "counter",
            "Times this worker slot's process was replaced after it died.", labels,
            number(*worker, "restarts"));
    out.add("wharf_worker_up", "gauge", "1 if the worker answered the master's status request.",
            labels, worker->has("error") || worker->isNull("pid") ? 0 : 1);
    out.add("wharf_worker_last_crash_signal", "gauge",
            "The signal that killed this slot's last worker to die (0: none).", labels,
            number(*worker, "last_signal"));
    if (worker->isNull("pid")) continue;
    Labels process = {{"role", "worker"}, {"group", group}, {"slot", slot}};
    out.add("wharf_process_id", "gauge",
            "The process's id (labels name the slot, so that a "
            "replaced process continues the same series).",
            process, number(*worker, "pid"));
    out.add("wharf_process_start_time_seconds", "gauge",
            "Start of the process, seconds since the Unix epoch.", process,
            now - number(*worker, "uptime_ms") / 1000);
    if (Poco::JSON::Object::Ptr sample = worker->getObject("process"))
      addProcess(out, *sample, process);
  }
}

}  // namespace

std::string prometheusText(const Poco::JSON::Object &status, double now) {
  Exposition out;
  out.add("wharf_build_info", "gauge", "The wharfd version serving (always 1).",
          {{"version", status.getValue<std::string>("version")}}, 1);
  out.add("wharf_upgrades_total", "counter", "Binary upgrades since the service started.", {},
          number(status, "upgrades"));
  if (Poco::JSON::Object::Ptr reloads = status.getObject("reloads"))
    for (const char *outcome : {"applied", "refused"})
      out.add("wharf_reloads_total", "counter", "Reloads since the master (re)started, by outcome.",
              {{"outcome", outcome}}, number(*reloads, outcome));
  if (Poco::JSON::Array::Ptr listeners = status.getArray("listeners"))
    addListeners(out, *listeners);
  if (Poco::JSON::Array::Ptr workers = status.getArray("workers")) addWorkers(out, *workers, now);
  Labels master = {{"role", "master"}, {"group", ""}, {"slot", ""}};
  out.add("wharf_process_id", "gauge",
          "The process's id (labels name the slot, so that a "
          "replaced process continues the same series).",
          master, number(status, "pid"));
  out.add("wharf_process_start_time_seconds", "gauge",
          "Start of the process, seconds since the Unix epoch.", master,
          now - number(status, "uptime_ms") / 1000);
  if (Poco::JSON::Object::Ptr sample = status.getObject("process"))
    addProcess(out, *sample, master);
  return out.text();
}

}  // namespace wharf::metrics
