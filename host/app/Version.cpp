#include "app/Version.h"

namespace wharf::app {

const char *version() {
  return WHARF_VERSION;
}

}  // namespace wharf::app
