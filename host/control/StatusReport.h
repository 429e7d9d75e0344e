// Internal. What `wharfctl status` shows: wharfd and each listener, as JSON.
#pragma once

#include <Poco/JSON/Object.h>

#include "listener/ListenerSet.h"

namespace wharf::control {

// THREAD: any, one at a time with reloads.
void reportStatus(const listener::ListenerSet &listeners, Poco::JSON::Object &reply);

}  // namespace wharf::control
