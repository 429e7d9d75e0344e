/* Takes every public type of wharf.h, so that abidw records their layout. The
 * ABI check compares this layout with the committed baseline. */
#include <wharf/wharf.h>

__attribute__((visibility("default"))) void wharf_abi_probe(const wharf_host *host,
                                                            const wharf_plugin *plugin,
                                                            wharf_status status,
                                                            wharf_log_level level,
                                                            wharf_socket_kind kind) {
  (void)host;
  (void)plugin;
  (void)status;
  (void)level;
  (void)kind;
}
