#include "app/Version.h"

#include "BuildId.h"

namespace wharf::app {

const char *version() {
  return WHARF_VERSION;
}

const char *buildId() {
  return WHARF_BUILD_ID;
}

}  // namespace wharf::app
