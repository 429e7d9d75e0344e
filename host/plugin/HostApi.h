// Internal. The host side of the C ABI: the `wharf_host` handed to every
// plugin's entry point, with its function table. Every function is noexcept
// at the boundary: a host error becomes a status, never an exception.
#pragma once

#include <wharf/wharf.h>

namespace wharf::plugin {

const wharf_host &hostDescriptor();

}  // namespace wharf::plugin
