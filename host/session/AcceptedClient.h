// Internal. session_accepted_client: who is at the other end of a connection
// a plugin accepted itself for a session (FTP's passive data connections),
// judged as the session's listener judges its own. Behind a load balancer,
// a connection from proxy_from names its client in a PROXY header.
#pragma once

#include <wharf/wharf.h>

#include "net/SocketAddress.h"
#include "session/Session.h"

namespace wharf::session {

// Blocks up to the listener's proxy_timeout for a header that is due.
// WHARF_INVALID (logged, with the reason): the plugin closes `fd`.
wharf_status acceptedClient(const Session &session, int fd, net::SocketAddress &client);

}  // namespace wharf::session
