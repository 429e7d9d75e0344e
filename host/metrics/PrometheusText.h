// Internal. The master's status (Master::reportStatus: the listeners merged
// over the workers, each worker, the master) in the Prometheus text
// exposition format 0.0.4, for GET /metrics. Names follow Prometheus's
// conventions: `wharf_` prefix, base units, `_total` for counters.
#pragma once

#include <Poco/JSON/Object.h>

#include <string>

namespace wharf::metrics {

// `now`: seconds since the Unix epoch (start times are derived from uptimes).
std::string prometheusText(const Poco::JSON::Object &status, double now);

}  // namespace wharf::metrics
