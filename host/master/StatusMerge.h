// Internal. `wharfctl status` across processes: each worker reports its own
// listeners; the master shows each listener once, its session counters
// summed over the workers serving it.
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <vector>

namespace wharf::master {

// The listeners of `statuses` (workers' status replies) merged by name and
// state: counters summed, the newest plugin generation shown.
Poco::JSON::Array::Ptr mergeListeners(const std::vector<Poco::JSON::Object::Ptr> &statuses);

}  // namespace wharf::master
