// Internal. What `wharfctl status` shows: wharfd and each listener, as JSON.
#pragma once

#include <Poco/JSON/Object.h>

#include <memory>
#include <vector>

#include "listener/Listener.h"

namespace wharf::control {

// THREAD: any; reads only what does not change after start, and counters.
void reportStatus(const std::vector<std::unique_ptr<listener::Listener>> &listeners,
                  Poco::JSON::Object &reply);

}  // namespace wharf::control
