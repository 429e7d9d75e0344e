// Internal. The host side of the C ABI: the `wharf_host` handed to every
// plugin's entry point, with its function table. Every function is noexcept
// at the boundary: a host error becomes a status, never an exception.
#pragma once

#include <wharf/wharf.h>

#include <cstdint>

namespace wharf::plugin {

const wharf_host &hostDescriptor();

// How often, in this process, a plugin used a handle (session, instance,
// waker) whose object had ended: each got WHARF_CLOSED (or NULL, 0, -1).
uint64_t staleHandleUses();

}  // namespace wharf::plugin
