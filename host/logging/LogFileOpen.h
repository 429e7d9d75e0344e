// Internal. Opening a log file for appending when a plugin may have laid a
// trap on the way. The master opens every log file (uid 0) and passes the
// descriptors to the workers; the workers' user may be able to write the log
// folder (the Debian package's /var/log/wharf is theirs), and so may have
// put a symbolic link, a FIFO or a hard link where the file goes (nginx's
// CVE-2016-1247: root following it creates or appends to any file).
//
// The path is walked one component at a time from "/". A symbolic link is
// followed only where no workers' user can write (the admin put it there)
// and if no such user made it; in a folder a workers' user can write (it
// owns it, so it may chmod it; the group or other bits let it; an ACL may),
// a link is refused, and the file is opened and created with that user's
// file-system identity, so it can reach nothing that user could not reach
// itself (the folder's owner's, where several could write it). What is
// opened must be a regular file: a FIFO is refused without blocking.
#pragma once

#include <string>
#include <vector>

#include "net/FileDescriptor.h"
#include "process/Account.h"

namespace wharf::logging {

// THREAD: any (the file-system identity is switched for the calling thread
// only). `path` is absolute; `untrusted` are the workers' accounts, none
// when they run as this process's own user (no boundary to keep). Created
// files get mode 0640. Throws std::system_error naming the path and why.
net::FileDescriptor openLogFile(const std::string &path,
                                const std::vector<process::Account> &untrusted);

}  // namespace wharf::logging
