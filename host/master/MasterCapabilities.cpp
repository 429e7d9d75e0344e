#include "master/MasterCapabilities.h"

#include <cap-ng.h>
#include <linux/capability.h>

#include <stdexcept>

namespace wharf::master {

std::string keepMasterCapabilities() {
  // Without CAP_SETPCAP the bounding set cannot shrink further: it already
  // did (a master re-executed by an upgrade; CapabilityBoundingSet= in the unit).
  capng_get_caps_process();
  if (!capng_have_capability(CAPNG_BOUNDING_SET, CAP_SETPCAP))
    return "master capabilities: the bounding set was reduced already";
  capng_clear(CAPNG_SELECT_BOTH);
  if (capng_updatev(
          CAPNG_ADD,
          static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET),
          CAP_NET_BIND_SERVICE, CAP_SETUID, CAP_SETGID, CAP_KILL, CAP_DAC_READ_SEARCH, -1) != 0 ||
      capng_apply(CAPNG_SELECT_BOTH) != 0)
    throw std::runtime_error("dropping the master's other capabilities failed");
  return "master capabilities: net_bind_service, setuid, setgid, kill, dac_read_search";
}

}  // namespace wharf::master
