// Internal. Sizes this process's descriptor table before it serves. The
// kernel grows a table by doubling it (64, 128, ... slots), and in a process
// that has threads each growth waits for an RCU grace period, 10 to 20 ms,
// inside whichever call needed the new slot: a reactor's accept, or the
// receipt of a session moved from another worker (bench/migration traced its
// longest pauses to it). Grown once, before the threads start, it costs
// nothing; a table never shrinks.
#pragma once

#include <cstddef>

namespace wharf::process {

// Makes room for descriptors 0 to slots - 1, at most the open-files soft
// limit. Returns how many slots it made room for: 0 when it could not (the
// table then grows as it always did).
size_t reserveDescriptorSlots(size_t slots);

}  // namespace wharf::process
