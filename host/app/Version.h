// Internal. This wharfd binary's version, as built. It is compiled into each
// program rather than the host library, so that a test can build a second
// wharfd whose version differs (for binary upgrades) from the same library.
#pragma once

namespace wharf::app {

const char *version();
// The source it was built from: `git describe --always --dirty`, or "unknown".
const char *buildId();

}  // namespace wharf::app
