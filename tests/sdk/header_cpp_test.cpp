// wharf.h and wharf.hpp compile as C++ with -Wall -Wextra -pedantic -Werror.
#include <wharf/wharf.h>
#include <wharf/wharf_kv.h>

#include <cstdio>
#include <wharf/wharf.hpp>

static_assert(sizeof(wharf_abi_header) == 16, "the ABI header layout is frozen");
static_assert(offsetof(wharf_host_api, alloc) == 8, "the host table layout is frozen");

int main() {
  wharf_plugin plugin{};
  plugin.header = WHARF_ABI_HEADER_INIT(WHARF_PLUGIN_MAGIC, wharf_plugin);
  if (plugin.header.struct_size != sizeof(wharf_plugin)) return 1;
  std::puts("ok");
  return 0;
}
