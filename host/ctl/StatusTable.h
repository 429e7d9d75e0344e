// Internal. `wharfctl status` as a table a person reads at a glance.
#pragma once

#include <Poco/JSON/Object.h>

#include <ostream>

namespace wharf::ctl {

void printStatusTable(const Poco::JSON::Object &status, std::ostream &out);

}  // namespace wharf::ctl
