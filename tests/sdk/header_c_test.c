/* wharf.h compiles as strict C99 with -Wall -Wextra -pedantic -Werror, and
 * WHARF_HOST_HAS tells present, absent and beyond-the-table functions apart. */
#include <stdio.h>
#include <wharf/wharf.h>
#include <wharf/wharf_kv.h>

static void free_nothing(void *pointer) {
  (void)pointer;
}

int main(void) {
  wharf_host_api api = {0};
  api.struct_size = (uint32_t)sizeof api;
  api.free = free_nothing;
  if (!WHARF_HOST_HAS(&api, free)) return puts("free should be present"), 1;
  if (WHARF_HOST_HAS(&api, alloc)) return puts("alloc is NULL, so absent"), 1;
  api.struct_size = (uint32_t)offsetof(wharf_host_api, free);
  if (WHARF_HOST_HAS(&api, free)) return puts("free lies past struct_size"), 1;
  puts("ok");
  return 0;
}
