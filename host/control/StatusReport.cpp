#include "control/StatusReport.h"

#include <Poco/JSON/Array.h>
#include <unistd.h>

#include "app/Version.h"

namespace wharf::control {
namespace {

// tls = on: handshakes by the version agreed on (and of them, those that
// resumed a session), failures by reason.
Poco::JSON::Object::Ptr tlsCounts(const session::Traffic &traffic) {
  Poco::JSON::Object::Ptr handshakes = new Poco::JSON::Object;
  Poco::JSON::Object::Ptr resumed = new Poco::JSON::Object;
  for (size_t i = 0; i < static_cast<size_t>(tls::Version::Count); ++i) {
    auto version = static_cast<tls::Version>(i);
    handshakes->set(tls::versionName(version), traffic.tlsHandshakes(version));
    resumed->set(tls::versionName(version), traffic.tlsResumed(version));
  }
  Poco::JSON::Object::Ptr failures = new Poco::JSON::Object;
  for (size_t i = 0; i < static_cast<size_t>(tls::Failure::Count); ++i)
    failures->set(tls::failureName(static_cast<tls::Failure>(i)),
                  traffic.tlsFailures(static_cast<tls::Failure>(i)));
  Poco::JSON::Object::Ptr counts = new Poco::JSON::Object;
  counts->set("handshakes", handshakes);
  counts->set("resumed", resumed);
  counts->set("failures", failures);
  return counts;
}

Poco::JSON::Object::Ptr describe(const listener::Listener &listener, bool draining, bool paused) {
  const auto &config = listener.config();
  listener::GenerationPtr generation = listener.current();
  const auto &plugin = generation->instance().plugin();
  Poco::JSON::Object::Ptr pluginInfo = new Poco::JSON::Object;
  pluginInfo->set("name", plugin.name());
  pluginInfo->set("version", plugin.version());
  pluginInfo->set("file", plugin.file().string());
  pluginInfo->set("generation", generation->number());
  // Each generation still loaded, so a drain shows: the old code's version
  // and the sessions it still serves.
  Poco::JSON::Array::Ptr loaded = new Poco::JSON::Array;
  for (const auto &[each, live] : listener.loadedGenerations()) {
    Poco::JSON::Object::Ptr described = new Poco::JSON::Object;
    described->set("generation", each->number());
    described->set("version", each->instance().plugin().version());
    described->set("sessions", live);
    loaded->add(described);
  }
  pluginInfo->set("generations_loaded", loaded->size());
  pluginInfo->set("generations", loaded);
  Poco::JSON::Object::Ptr sessions = new Poco::JSON::Object;
  const listener::Admission &admission = listener.admission();
  sessions->set("active", admission.active());
  sessions->set("total", admission.total());
  Poco::JSON::Object::Ptr refused = new Poco::JSON::Object;
  for (size_t reason = 0; reason < static_cast<size_t>(listener::Refusal::Count); ++reason)
    refused->set(listener::refusalName(static_cast<listener::Refusal>(reason)),
                 admission.refused(static_cast<listener::Refusal>(reason)));
  sessions->set("refused", refused);
  const session::Traffic &traffic = listener.traffic();
  Poco::JSON::Object::Ptr ended = new Poco::JSON::Object;
  for (size_t how = 0; how < static_cast<size_t>(session::Ending::Count); ++how)
    ended->set(session::endingName(static_cast<session::Ending>(how)),
               traffic.ended(static_cast<session::Ending>(how)));
  sessions->set("ended", ended);
  // Not cumulative; bucket i holds durations up to kDurationBounds[i], the last one the rest.
  Poco::JSON::Array::Ptr buckets = new Poco::JSON::Array;
  for (size_t i = 0; i <= session::kDurationBounds.size(); ++i)
    buckets->add(traffic.durationBucket(i));
  sessions->set("duration_buckets", buckets);
  sessions->set("duration_us_sum", traffic.durationSumMicros());
  sessions->set("bytes_in", traffic.bytesIn());
  sessions->set("bytes_out", traffic.bytesOut());
  sessions->set("hook_errors", traffic.hookErrors());
  sessions->set("access_log_dropped", traffic.accessLogDropped());
  if (listener.tls() != nullptr) sessions->set("tls", tlsCounts(traffic));
  if (config.mode != "fork") {  // the modes whose sessions may migrate (migrate = on)
    Poco::JSON::Object::Ptr migrated = new Poco::JSON::Object;
    for (size_t i = 0; i < static_cast<size_t>(session::Migrated::Count); ++i)
      migrated->set(session::migratedName(static_cast<session::Migrated>(i)),
                    traffic.migrated(static_cast<session::Migrated>(i)));
    sessions->set("migrated", migrated);
  }
  if (config.mode == "reactor") {
    // Not cumulative, as duration_buckets.
    Poco::JSON::Object::Ptr lag = new Poco::JSON::Object;
    Poco::JSON::Array::Ptr lagBuckets = new Poco::JSON::Array;
    for (size_t i = 0; i <= session::kLoopLagBounds.size(); ++i)
      lagBuckets->add(traffic.loopLagBucket(i));
    lag->set("buckets", lagBuckets);
    lag->set("us_sum", traffic.loopLagSumMicros());
    sessions->set("loop_lag", lag);
  }
  Poco::JSON::Object::Ptr entry = new Poco::JSON::Object;
  entry->set("name", config.name);
  entry->set("state", std::string(draining ? "draining" : "serving"));
  // Workers where it waits after its plugin crashed one (0 or 1 here; the
  // master adds them up).
  entry->set("paused_workers", paused ? 1 : 0);
  entry->set("transport", std::string(net::transportName(config.endpoint.transport)));
  entry->set("listen", listener.boundAddress());
  entry->set("mode", config.mode);
  entry->set("plugin", pluginInfo);
  entry->set("sessions", sessions);
  entry->set("plugin_metrics", listener.metrics().report());
  if (const tls::ContextSlot *tls = listener.tls()) {
    Poco::JSON::Object::Ptr certificate = new Poco::JSON::Object;
    certificate->set("expires",
                     tls->current()->certificateExpiry());  // seconds since the Unix epoch
    entry->set("tls_certificate", certificate);
  }
  // Shared by every worker: the master shows one worker's view.
  Poco::JSON::Array::Ptr zones = new Poco::JSON::Array;
  for (const auto &zone : generation->instance().zones()) {
    Poco::JSON::Object::Ptr described = new Poco::JSON::Object;
    described->set("name", zone->name());
    described->set("layout", zone->request().layout);
    described->set("size", zone->request().size);
    described->set("used", zone->used());
    zones->add(described);
  }
  entry->set("zones", zones);
  return entry;
}

}  // namespace

void reportStatus(const listener::ListenerSet &listeners, Poco::JSON::Object &reply) {
  reply.set("version", std::string(app::version()));
  reply.set("pid", static_cast<int>(::getpid()));
  Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
  for (const auto &listener : listeners.serving())
    list->add(describe(*listener, false, listeners.paused(*listener)));
  for (const auto *listener : listeners.draining()) list->add(describe(*listener, true, false));
  reply.set("listeners", list);
}

}  // namespace wharf::control
